// The PyTorch side of a comparison: a persistent /usr/bin/python3 process running a small script that
// answers "setup ..." with "ready ..." and "run" with its own perf_counter timing of one call in seconds,
// so the pipe's round trip is never charged to the anchor and both sides alternate call by call.
// The script's first line is "ok <version>" when its imports worked (anything else: no anchor).
using System.Diagnostics;
using System.Globalization;

namespace Cochlea.Bench.Compare;

/// <summary>A python3 process that sets cases up and times them on request (see the header for the protocol).</summary>
public sealed class PythonAnchor : IDisposable
{
    /// <summary>The interpreter: COCHLEA_PYTHON when set (the GPU machine's torch may live elsewhere), else Debian's, where apt's python3-torch lives.</summary>
    public static string Python => Environment.GetEnvironmentVariable("COCHLEA_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    readonly Process _p;
    readonly string _what;

    /// <summary>What the script's first line said after "ok " (the library version).</summary>
    public string Version { get; }

    PythonAnchor(Process p, string version, string what) { _p = p; Version = version; _what = what; }

    /// <summary>
    /// Starts <paramref name="script"/> with <paramref name="args"/> (its sys.argv[1..]), or returns null with the
    /// reason on stderr (prefixed by <paramref name="what"/>, e.g. "compare ctc") when python3 or its imports are missing.
    /// </summary>
    public static PythonAnchor? Start(string what, string script, params string[] args)
    {
        if (!File.Exists(Python)) { Console.Error.WriteLine($"{what}: {Python} not found; no anchor."); return null; }
        var psi = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-u");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        // One thread pool per side: torch's OpenMP must not spin on the cores while Cochlea runs.
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        var p = Process.Start(psi)!;
        string? first = p.StandardOutput.ReadLine();
        if (first is null || !first.StartsWith("ok ", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"{what}: torch unavailable ({first ?? "no answer"}); no anchor.");
            p.Dispose();
            return null;
        }
        return new PythonAnchor(p, first[3..].Trim(), what);
    }

    /// <summary>Sends one request line and returns the script's reply line.</summary>
    public string Ask(string request)
    {
        _p.StandardInput.WriteLine(request);
        _p.StandardInput.Flush();
        return _p.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{_what}: the python3 anchor process ended (after '{request}').");
    }

    /// <summary>Sends "setup <paramref name="arguments"/>"; true when the script answered "ready".</summary>
    public bool Setup(string arguments) => Ask($"setup {arguments}").StartsWith("ready", StringComparison.Ordinal);

    /// <summary>One timed call of the case set up last, in seconds as the script measured it.</summary>
    public double RunOnce() => double.Parse(Ask("run"), CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public void Dispose()
    {
        try { _p.StandardInput.WriteLine("quit"); _p.StandardInput.Close(); _p.WaitForExit(5000); }
        catch (Exception e) when (e is IOException or InvalidOperationException) { }
        if (!_p.HasExited) _p.Kill();
        _p.Dispose();
    }

    /// <summary>
    /// The folder of the reference models (models.py, bench.py): COCHLEA_REFERENCE, else the first shared/reference
    /// above the working directory or the binary (the repository's sibling ../shared/reference); null when absent.
    /// </summary>
    public static string? FindReference()
    {
        var env = Environment.GetEnvironmentVariable("COCHLEA_REFERENCE");
        if (!string.IsNullOrEmpty(env)) return File.Exists(Path.Combine(env, "models.py")) ? Path.GetFullPath(env) : null;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "shared", "reference");
                if (File.Exists(Path.Combine(candidate, "models.py"))) return candidate;
            }
        return null;
    }
}
