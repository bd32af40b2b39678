// Source-generated JSON for the keyword spotters' checkpoint metadata (labels, widths, feature statistics,
// the training recipe): no reflection, so a trimmed `cochlea` keeps working (the Publish task trims it).
using System.Text.Json.Serialization;

namespace Cochlea.Models.Kws;

[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(IReadOnlyList<int>))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(float[]))]
[JsonSerializable(typeof(double[]))]
[JsonSerializable(typeof(Dictionary<string, object?>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(float))]
[JsonSerializable(typeof(double))]
internal sealed partial class KwsJson : JsonSerializerContext;
