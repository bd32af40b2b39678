// Minimal "--name value" option parsing for the CLI commands: defaults, value-less flags, positional
// arguments, typed getters, and errors that name the option. Every mistake on the command line is a
// UsageException, which Commands turns into one line on stderr and exit code 2.
using System.Globalization;

namespace Cochlea.Cli;

/// <summary>A mistake on the command line (unknown option, missing or malformed value, a path that does not exist): exit code 2.</summary>
sealed class UsageException(string message) : ArgumentException(message);

sealed class CliArgs
{
    readonly Dictionary<string, string> _values;
    readonly HashSet<string> _given, _flags;

    CliArgs(Dictionary<string, string> values, HashSet<string> given, HashSet<string> flags, List<string> positional)
    {
        _values = values; _given = given; _flags = flags; Positional = positional;
    }

    /// <summary>Arguments that are not options, in order (only when the command accepts them).</summary>
    public IReadOnlyList<string> Positional { get; }

    /// <summary>
    /// Parses --name value pairs; every name must appear in <paramref name="defaults"/> (an empty default means "no value").
    /// <paramref name="flags"/> take no value; with <paramref name="positional"/> other arguments are collected, else they are errors.
    /// </summary>
    public static CliArgs Parse(string[] args, Dictionary<string, string> defaults, string[]? flags = null, bool positional = false)
    {
        var v = new Dictionary<string, string>(defaults);
        var given = new HashSet<string>();
        var flagSet = new HashSet<string>();
        var pos = new List<string>();
        flags ??= [];
        string Options() => string.Join(", ", defaults.Keys.Concat(flags).Select(k => "--" + k));
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--"))
            {
                if (!positional) throw new UsageException($"unexpected argument '{a}'; options: {Options()}.");
                pos.Add(a);
                continue;
            }
            string name = a[2..];
            if (flags.Contains(name)) { flagSet.Add(name); continue; }
            if (!defaults.ContainsKey(name)) throw new UsageException($"unknown option '{a}'; options: {Options()}.");
            if (i + 1 >= args.Length || args[i + 1].StartsWith("--")) throw new UsageException($"option '{a}' needs a value.");
            v[name] = args[++i];
            given.Add(name);
        }
        return new CliArgs(v, given, flagSet, pos);
    }

    /// <summary>True when --<paramref name="name"/> was on the command line (not just defaulted).</summary>
    public bool Given(string name) => _given.Contains(name);

    /// <summary>True when the flag --<paramref name="name"/> was given.</summary>
    public bool Flag(string name) => _flags.Contains(name);

    /// <summary>The value, or null when it is empty (not given and no default).</summary>
    public string? Optional(string name) => _values[name] is { Length: > 0 } s ? s : null;

    /// <summary>The value; an error naming the option when there is none.</summary>
    public string Required(string name) => Optional(name) ?? throw new UsageException($"--{name} is required.");

    /// <summary>A folder that must exist.</summary>
    public string ExistingFolder(string name)
    {
        var p = Required(name);
        return Directory.Exists(p) ? p : throw new UsageException($"--{name}: folder not found: {Path.GetFullPath(p)}");
    }

    /// <summary>A file that must exist, or null when the option is empty.</summary>
    public string? OptionalExistingFile(string name)
    {
        var p = Optional(name);
        return p is null || File.Exists(p) ? p : throw new UsageException($"--{name}: file not found: {Path.GetFullPath(p)}");
    }

    /// <summary>The value converted by <paramref name="parse"/>; its ArgumentException becomes a usage error naming the option.</summary>
    public T Parsed<T>(string name, Func<string, T> parse)
    {
        try { return parse(_values[name]); }
        catch (ArgumentException e) when (e is not UsageException) { throw new UsageException($"--{name}: {e.Message}"); }
    }

    /// <summary>
    /// As <see cref="Parse(string[], Dictionary{string, string}, string[], bool)"/> with positional arguments on: arguments that do not start with "--" (and are not
    /// an option's value) are returned in order as <paramref name="positional"/>, e.g. an input file before the options.
    /// </summary>
    public static CliArgs Parse(string[] args, Dictionary<string, string> defaults, out List<string> positional)
    {
        var parsed = Parse(args, defaults, positional: true);
        positional = parsed.Positional.ToList();
        return parsed;
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
        ? x : throw new UsageException($"--{name} must be a positive integer, got '{_values[name]}'.");

    public int NonNegativeInt(string name) => int.TryParse(_values[name], NumberStyles.Integer, CultureInfo.InvariantCulture, out var x) && x >= 0
        ? x : throw new UsageException($"--{name} must be an integer >= 0, got '{_values[name]}'.");

    public float Float(string name) => float.TryParse(_values[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x > 0 && float.IsFinite(x)
        ? x : throw new UsageException($"--{name} must be a positive number, got '{_values[name]}'.");

    public double Fraction(string name) => double.TryParse(_values[name], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && x >= 0 && x <= 1
        ? x : throw new UsageException($"--{name} must be a number in [0, 1], got '{_values[name]}'.");

    /// <summary>
    /// A compute device, cpu, cuda or cuda:N; a CUDA device must be usable here, else the usage error is
    /// "--NAME VALUE: why" (<see cref="Cochlea.Cuda.CudaBackend.UnavailableReason"/>, or the devices there are).
    /// </summary>
    public Device Device(string name = "device")
    {
        var d = Parsed(name, Cochlea.Device.Parse);
        if (d.IsCpu) return d;
        if (!Cochlea.Cuda.CudaBackend.IsAvailable) throw new UsageException($"--{name} {_values[name]}: {Cochlea.Cuda.CudaBackend.UnavailableReason}");
        int n = Cochlea.Cuda.CudaBackend.DeviceCount;
        if (d.Index >= n) throw new UsageException($"--{name} {_values[name]}: this machine has {n} CUDA device(s), cuda:0 to cuda:{n - 1}.");
        return d;
    }

    /// <summary>A comma-separated list of positive integers, or null when the option is empty.</summary>
    public int[]? IntList(string name)
    {
        var s = Optional(name);
        if (s is null) return null;
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        var r = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out r[i]) || r[i] <= 0)
                throw new UsageException($"--{name} must be comma-separated positive integers (e.g. 128,192,256), got '{s}'.");
        return r;
    }
}
