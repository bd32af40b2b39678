// A persistent /usr/bin/python3 subprocess that answers one line per request line: the anchor side of
// the comparisons whose anchor is PyTorch. The script prints "ok <version>" first (or anything else, e.g.
// "notorch <why>", when torch cannot be imported); each request then gets one reply line, typically the
// seconds the script measured itself with perf_counter, so the pipe's round trip is not charged to it.
using System.Diagnostics;
using System.Globalization;

namespace Cochlea.Bench.Compare;

/// <summary>A line-oriented python3 helper process (see the file header).</summary>
public sealed class PythonAnchor : IDisposable
{
    /// <summary>The interpreter the anchors use: Debian's, where apt installs python3-torch.</summary>
    public const string Python = "/usr/bin/python3";

    readonly Process _p;

    /// <summary>What followed "ok " on the script's first line (e.g. torch's version).</summary>
    public string Version { get; }

    PythonAnchor(Process p, string version) { _p = p; Version = version; }

    /// <summary>
    /// Starts <paramref name="script"/> with <paramref name="args"/>; null (with the reason on stderr, prefixed by
    /// <paramref name="who"/>) when python3 is missing or the script's first line is not "ok ...".
    /// </summary>
    public static PythonAnchor? Start(string who, string script, params string[] args)
    {
        if (!File.Exists(Python)) { Console.Error.WriteLine($"{who}: {Python} not found; no anchor."); return null; }
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
            Console.Error.WriteLine($"{who}: torch unavailable ({first ?? "no answer"}); no anchor.");
            try { if (!p.HasExited) p.Kill(); } catch (InvalidOperationException) { }
            p.Dispose();
            return null;
        }
        return new PythonAnchor(p, first[3..].Trim());
    }

    /// <summary>Sends one request line and returns the reply line.</summary>
    public string Ask(string request)
    {
        _p.StandardInput.WriteLine(request);
        _p.StandardInput.Flush();
        return _p.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"the python3 anchor process ended (after '{request}').");
    }

    /// <summary>Sends one request whose reply is a number of seconds.</summary>
    public double AskSeconds(string request) => double.Parse(Ask(request), CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public void Dispose()
    {
        try { _p.StandardInput.WriteLine("quit"); _p.StandardInput.Close(); _p.WaitForExit(5000); } catch (IOException) { }
        catch (InvalidOperationException) { }
        if (!_p.HasExited) _p.Kill();
        _p.Dispose();
    }
}
