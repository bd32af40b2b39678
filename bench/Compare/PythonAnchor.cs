// The torch anchors of `compare` (ctc, tagging): a /usr/bin/python3 subprocess running a suite's script, which first
// prints "ok <torch version>" (or anything else when torch is missing), then answers each request line with one line:
// "setup ..." -> "ready ...", "run" -> the seconds its own timing of one call took. So both sides are timed in the same
// run, alternating call by call, and only the measured call is timed, not the pipe.
using System.Diagnostics;
using System.Globalization;

namespace Cochlea.Bench.Compare;

/// <summary>A python3 process answering one line per request line.</summary>
public sealed class PythonAnchor : IDisposable
{
    /// <summary>Debian's python3 (python3-torch installs there).</summary>
    public const string Python = "/usr/bin/python3";

    readonly Process _p;
    readonly string _suite;

    /// <summary>What the script printed after "ok" (the torch version).</summary>
    public string Version { get; }

    PythonAnchor(Process p, string suite, string version) { _p = p; _suite = suite; Version = version; }

    /// <summary>The process running <paramref name="script"/> with <paramref name="args"/>, or null (the reason on stderr) when python3 or torch is missing.</summary>
    public static PythonAnchor? Start(string suite, string script, params string[] args)
    {
        if (!File.Exists(Python)) { Console.Error.WriteLine($"compare {suite}: {Python} not found; no anchor."); return null; }
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
            Console.Error.WriteLine($"compare {suite}: torch unavailable ({first ?? "no answer"}); no anchor.");
            p.Dispose();
            return null;
        }
        return new PythonAnchor(p, suite, first[3..].Trim());
    }

    /// <summary>Sends "setup ..." and says whether the script answered "ready".</summary>
    public bool Setup(string request)
    {
        _p.StandardInput.WriteLine(request);
        string? reply = _p.StandardOutput.ReadLine();
        return reply is not null && reply.StartsWith("ready", StringComparison.Ordinal);
    }

    /// <summary>One timed call on the Python side: its own measurement, in seconds.</summary>
    public double RunOnce()
    {
        _p.StandardInput.WriteLine("run");
        string reply = _p.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"compare {_suite}: the torch process ended.");
        return double.Parse(reply, CultureInfo.InvariantCulture);
    }

    /// <summary>Asks the script to quit (killing it if it does not).</summary>
    public void Dispose()
    {
        try { _p.StandardInput.WriteLine("quit"); _p.WaitForExit(5000); } catch (IOException) { }
        if (!_p.HasExited) _p.Kill();
        _p.Dispose();
    }
}
