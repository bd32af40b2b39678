// A python3 subprocess that times one operation itself on request: "run" -> its own elapsed seconds on
// one line. The anchors that call PyTorch (compare ctc, compare runtime) derive from it, so both sides
// are timed in the same run, alternating, and only the operation is timed, not the pipe.
using System.Diagnostics;
using System.Globalization;

namespace Cochlea.Bench.Compare;

abstract class PythonTimer(Process process, string who) : IDisposable
{
    /// <summary>Debian's interpreter (python3-torch installs there).</summary>
    protected const string Python = "/usr/bin/python3";

    /// <summary>First lines of every anchor script: imports, and "notorch ..." then exit when torch is missing.</summary>
    protected const string TorchPrelude = """
        import sys, time, io, importlib.util
        try:
            import torch, torch.nn.functional as F
        except Exception as e:
            print("notorch", repr(e), flush=True); sys.exit(0)

        """;

    /// <summary>The python3 process (stdin: commands, stdout: answers).</summary>
    protected Process Process { get; } = process;

    /// <summary>Runs the operation once; its own timing in seconds.</summary>
    public double RunOnce()
    {
        Process.StandardInput.WriteLine("run");
        string reply = Process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"{who}: the torch process ended.");
        return double.Parse(reply, CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        try { Process.StandardInput.WriteLine("quit"); Process.WaitForExit(5000); } catch (IOException) { }
        if (!Process.HasExited) Process.Kill();
        Process.Dispose();
    }
}
