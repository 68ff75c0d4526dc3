namespace Sluice.Core.Definitions.Kfp;

/// <summary>The format "kfp" for <see cref="DefinitionCompilers"/>: a KFP v2 PipelineSpec (the IR that the Kubeflow
/// Pipelines SDK compiles to), as JSON or YAML, or a Vertex PipelineJob-shaped document <c>{pipelineSpec, runtimeConfig}</c>.</summary>
public sealed class KfpDefinitionCompiler : IDefinitionCompiler
{
    public const string Format = "kfp";

    public IReadOnlyList<string> Formats { get; } = [Format];

    public CompileResult Compile(string source, string format) => KfpCompiler.Compile(source);
}
