using System.Text.Json.Nodes;

namespace Sluice.Core.Definitions;

/// <summary>A JSON document whose values may be templates: rendered into plain JSON when a step starts (a step's
/// properties, a job's request). A value that is exactly one reference keeps the referenced value's type.</summary>
public abstract class JsonTemplate
{
    /// <summary>Every reference anywhere in the document.</summary>
    public abstract IReadOnlyList<Reference> References { get; }

    public abstract JsonNode? Render(IValueResolver resolver);

    /// <summary>A constant document.</summary>
    public static JsonTemplate Constant(JsonNode? value) => new ConstantNode(value?.DeepClone());

    /// <summary>A value computed by a template (see <see cref="Template.RenderValue"/>).</summary>
    public static JsonTemplate Value(Template template) => new ValueNode(template);

    public static JsonTemplate Object(IReadOnlyList<KeyValuePair<string, JsonTemplate>> members) => new ObjectNode(members);

    public static JsonTemplate Array(IReadOnlyList<JsonTemplate> items) => new ArrayNode(items);

    private sealed class ConstantNode(JsonNode? value) : JsonTemplate
    {
        public override IReadOnlyList<Reference> References => [];

        public override JsonNode? Render(IValueResolver resolver) => value?.DeepClone();
    }

    private sealed class ValueNode(Template template) : JsonTemplate
    {
        public override IReadOnlyList<Reference> References => template.References;

        public override JsonNode? Render(IValueResolver resolver) => template.RenderValue(resolver);
    }

    private sealed class ObjectNode(IReadOnlyList<KeyValuePair<string, JsonTemplate>> members) : JsonTemplate
    {
        private readonly Reference[] references = [.. members.SelectMany(m => m.Value.References)];

        public override IReadOnlyList<Reference> References => references;

        public override JsonNode? Render(IValueResolver resolver)
        {
            var o = new JsonObject();
            foreach (var (k, v) in members)
            {
                o[k] = v.Render(resolver);
            }
            return o;
        }
    }

    private sealed class ArrayNode(IReadOnlyList<JsonTemplate> items) : JsonTemplate
    {
        private readonly Reference[] references = [.. items.SelectMany(i => i.References)];

        public override IReadOnlyList<Reference> References => references;

        public override JsonNode? Render(IValueResolver resolver) => new JsonArray([.. items.Select(i => i.Render(resolver))]);
    }
}
