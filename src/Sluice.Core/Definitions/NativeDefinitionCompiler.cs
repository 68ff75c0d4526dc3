namespace Sluice.Core.Definitions;

/// <summary>The native definition formats for <see cref="DefinitionCompilers"/>: native-yaml and native-json.</summary>
public sealed class NativeDefinitionCompiler : IDefinitionCompiler
{
    public IReadOnlyList<string> Formats { get; } = ["native-yaml", "native-json"];

    public CompileResult Compile(string source, string format) =>
        NativeCompiler.Compile(source, format == "native-json" ? "json" : "yaml");
}
