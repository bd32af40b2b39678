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

    public int Int(string name) => int.TryParse(_values[name], NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) && x > 0
        ? x : throw new ArgumentException($"--{name} must be a positive integer, got '{_values[name]}'.");

    public float Float(string name) => float.TryParse(_values[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0 && float.IsFinite(x)
        ? x : throw new ArgumentException($"--{name} must be a positive number, got '{_values[name]}'.");
}
