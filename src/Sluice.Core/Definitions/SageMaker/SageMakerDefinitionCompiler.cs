namespace Sluice.Core.Definitions.SageMaker;

/// <summary>The SageMaker Pipelines definition format ("sagemaker"): a <c>PipelineDefinition</c> JSON document; see
/// docs/sagemaker-definitions.md.</summary>
public sealed class SageMakerDefinitionCompiler : IDefinitionCompiler
{
    public IReadOnlyList<string> Formats { get; } = ["sagemaker"];

    public CompileResult Compile(string source, string format) => SageMakerCompiler.Compile(source);
}
