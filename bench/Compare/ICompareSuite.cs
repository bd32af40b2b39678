// The contract of one comparison (gemm, conv, runtime, ...): a name for the command line and a run
// that yields one result per case. Add a comparison = add a file implementing this + one registry line.
namespace Cochlea.Bench.Compare;

/// <summary>One `compare &lt;name&gt;` target: measures Cochlea and an anchor side by side.</summary>
public interface ICompareSuite
{
    /// <summary>The word after `compare` on the command line.</summary>
    string Name { get; }

    /// <summary>One line of help.</summary>
    string Description { get; }

    /// <summary>Runs every case, yielding each result as soon as it is measured (so output streams).</summary>
    IEnumerable<CompareResult> Run();
}

/// <summary>
/// One case, in the shape DESIGN.md fixes for every comparison. <see cref="Anchor"/> is null when the anchor
/// is not installed; then <see cref="Speedup"/> is null too (never invented). HigherIsBetter is true for
/// throughputs (speedup = ours/anchor) and false for times (anchor/ours).
/// </summary>
public sealed record CompareResult(string Case, int Threads, double Ours, double? Anchor, string Unit, string AnchorName, bool HigherIsBetter)
{
    /// <summary>&gt; 1 means Cochlea is faster.</summary>
    public double? Speedup => Anchor is double y && y > 0 && Ours > 0 ? (HigherIsBetter ? Ours / y : y / Ours) : null;
}
