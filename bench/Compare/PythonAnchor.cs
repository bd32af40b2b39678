// A /usr/bin/python3 subprocess that times itself on request: the anchor side of the comparisons that
// measure against PyTorch. The script prints "ok <version>" (or anything else when torch is missing),
// then answers each "setup ..." line with "ready ..." and each "run" line with its own timing of one
// step in seconds, so only the work is timed, not the pipe. OMP_WAIT_POLICY=PASSIVE keeps torch's
// OpenMP threads from spinning on the cores while Cochlea runs.
using System.Diagnostics;
using System.Globalization;

namespace Cochlea.Bench.Compare;

/// <summary>The torch process of one comparison suite; see the file header.</summary>
public sealed class PythonAnchor : IDisposable
{
    const string Python = "/usr/bin/python3";
    readonly Process _p;
    readonly string _suite;

    /// <summary>torch's version, as the script printed it.</summary>
    public string Version { get; }

    PythonAnchor(Process p, string suite, string version) => (_p, _suite, Version) = (p, suite, version);

    /// <summary>Starts <paramref name="script"/> with <paramref name="args"/>; null (the reason on stderr) when python3 or torch is missing.</summary>
    public static PythonAnchor? Start(string suite, string script, params string[] args)
    {
        if (!File.Exists(Python)) { Console.Error.WriteLine($"compare {suite}: {Python} not found; no anchor."); return null; }
        var psi = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-u");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        var p = Process.Start(psi)!;
        string? first = p.StandardOutput.ReadLine();
        if (first is null || !first.StartsWith("ok ", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"compare {suite}: torch unavailable ({first ?? "no answer"}); no anchor.");
            p.Dispose();
            return null;
        }
        return new PythonAnchor(p, suite, first[3..].Trim());
    }

    /// <summary>Sends a setup line; true when the script answered "ready".</summary>
    public bool Setup(string line)
    {
        _p.StandardInput.WriteLine("setup " + line);
        string? reply = _p.StandardOutput.ReadLine();
        return reply is not null && reply.StartsWith("ready", StringComparison.Ordinal);
    }

    /// <summary>One timed step, seconds (the script's own timing).</summary>
    public double RunOnce()
    {
        _p.StandardInput.WriteLine("run");
        string reply = _p.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"compare {_suite}: the torch process ended.");
        return double.Parse(reply, CultureInfo.InvariantCulture);
    }

    /// <summary>The median of <paramref name="xs"/> (sorted in place).</summary>
    public static double Median(List<double> xs)
    {
        xs.Sort();
        int n = xs.Count;
        return n % 2 == 1 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        try { _p.StandardInput.WriteLine("quit"); _p.WaitForExit(5000); } catch (IOException) { }
        if (!_p.HasExited) _p.Kill();
        _p.Dispose();
    }
}
