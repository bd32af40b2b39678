// Minimal "--name value" option parsing with defaults and clear errors for the CLI commands.
using System.Globalization;

namespace Cochlea.Cli;

sealed class CliArgs
{
    readonly Dictionary<string, string> _values;

    CliArgs(Dictionary<string, string> values) => _values = values;

    /// <summary>Parses --name value pairs; every name must appear in <paramref name="defaults"/>.</summary>
    public static CliArgs Parse(string[] args, Dictionary<string, string> defaults)
    {
        var v = new Dictionary<string, string>(defaults);
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--") || !defaults.ContainsKey(a[2..]))
                throw new ArgumentException($"unknown option '{a}'; options: {string.Join(", ", defaults.Keys.Select(k => "--" + k))}.");
            if (i + 1 >= args.Length) throw new ArgumentException($"option '{a}' needs a value.");
            v[a[2..]] = args[++i];
        }
        return new CliArgs(v);
    }

    /// <summary>
    /// As <see cref="Parse(string[], Dictionary{string, string})"/>, but arguments that do not start with "--" (and are not
    /// an option's value) are returned in order as <paramref name="positional"/>, e.g. an input file before the options.
    /// </summary>
    public static CliArgs Parse(string[] args, Dictionary<string, string> defaults, out List<string> positional)
    {
        positional = [];
        var options = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--")) { options.Add(args[i]); if (i + 1 < args.Length) options.Add(args[++i]); }
            else positional.Add(args[i]);
        }
        return Parse(options.ToArray(), defaults);
    }

    /// <summary>The raw value of an option.</summary>
    public string Str(string name) => _values[name];

    /// <summary>A positive integer, or null when the value is empty or "auto".</summary>
    public int? OptInt(string name) => _values[name] is "" or "auto" ? null : Int(name);

    /// <summary>A finite number &gt;= 0.</summary>
    public double NonNegative(string name) => double.TryParse(_values[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x >= 0 && double.IsFinite(x)
        ? x : throw new ArgumentException($"--{name} must be a number >= 0, got '{_values[name]}'.");

    /// <summary>A finite number &gt;= 0, or null when the value is empty, "auto" or "none".</summary>
    public double? OptNonNegative(string name) => _values[name] is "" or "auto" or "none" ? null : NonNegative(name);

    /// <summary>true/false (also yes/no, 1/0).</summary>
    public bool Bool(string name) => _values[name].ToLowerInvariant() switch
    {
        "true" or "yes" or "1" => true,
        "false" or "no" or "0" => false,
        _ => throw new ArgumentException($"--{name} must be true or false, got '{_values[name]}'."),
    };

    /// <summary>The value, which must be one of <paramref name="allowed"/>.</summary>
    public string OneOf(string name, params string[] allowed) => allowed.Contains(_values[name])
        ? _values[name] : throw new ArgumentException($"--{name} must be one of {string.Join(", ", allowed)}; got '{_values[name]}'.");

    public int Int(string name) => int.TryParse(_values[name], NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) && x > 0
        ? x : throw new ArgumentException($"--{name} must be a positive integer, got '{_values[name]}'.");

    public float Float(string name) => float.TryParse(_values[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0 && float.IsFinite(x)
        ? x : throw new ArgumentException($"--{name} must be a positive number, got '{_values[name]}'.");
}
