// LWLRAP against an independent numpy computation (the competitions' reference implementation, in
// tests/fixtures/make_metric_fixtures.py -> fixtures/data/lwlrap.json), plus hand-worked cases.
using System.Text.Json;
using Cochlea.Models.Tagging;
using NUnit.Framework;

namespace Cochlea.Tests.Tagging;

[Category("Models")]
public class LwlrapTests
{
    sealed record Case(int samples, int classes, float[] truth, float[] scores, double lwlrap, double[] per_class, double[] weight);
    sealed record File(Case[] cases);

    static IEnumerable<TestCaseData> Cases()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "data", "lwlrap.json");
        var file = JsonSerializer.Deserialize<File>(System.IO.File.ReadAllText(path))!;
        return file.cases.Select(c => new TestCaseData(c).SetName($"{{m}}({c.samples}x{c.classes})"));
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesTheNumpyReference(object boxed)
    {
        var c = (Case)boxed;
        var r = Lwlrap.Compute(c.scores, c.truth, c.samples, c.classes);
        Assert.That(r.Value, Is.EqualTo(c.lwlrap).Within(1e-12));
        Assert.That(r.PerClass, Is.EqualTo(c.per_class).Within(1e-12));
        Assert.That(r.Weight, Is.EqualTo(c.weight).Within(1e-12));
    }

    [Test]
    public void HandWorkedValues()
    {
        // One sample, positives {0, 2}; ranking 2 > 1 > 0: class 2 precision 1/1, class 0 precision 2/3.
        var r = Lwlrap.Compute([0.1f, 0.5f, 0.9f], [1, 0, 1], 1, 3);
        Assert.That(r.Value, Is.EqualTo((1 + 2.0 / 3) / 2).Within(1e-12));
        // Perfect ranking gives 1; a sample without labels contributes nothing.
        Assert.That(Lwlrap.Compute([0.9f, 0.1f, 0.3f, 0.2f], [1, 0, 0, 0], 2, 2).Value, Is.EqualTo(1.0));
        // Ties are pessimistic: both tied classes count as ranked above.
        Assert.That(Lwlrap.Compute([0.5f, 0.5f], [1, 0], 1, 2).Value, Is.EqualTo(0.5));
        Assert.Throws<ArgumentException>(() => Lwlrap.Compute([0.5f], [1, 0], 1, 2));
    }
}
