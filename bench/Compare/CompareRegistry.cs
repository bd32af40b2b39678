// Every comparison `compare <what>` knows. One line per suite; the suites live one per file.
namespace Cochlea.Bench.Compare;

public static class CompareRegistry
{
    /// <summary>All registered comparisons, by command-line name.</summary>
    public static IReadOnlyList<ICompareSuite> All { get; } =
    [
        new GemmCompare(),
        new CtcCompare(),
        new FeaturesCompare(),
        new KwsCompare(),
        new DeepSpeechCompare(),
        new TaggingCompare(),
        new TaggerBackboneCompare(),
        new RuntimeCompare(),
        new GpuGemmCompare(),
        new GpuTrainCompare(),
    ];
}
