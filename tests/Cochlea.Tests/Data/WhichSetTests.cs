// The Speech Commands hash split against the TF tutorial's which_set, computed by
// tests/fixtures/make_data_fixtures.py (stdlib python) and committed as fixtures/data/which_set.json.
using System.Globalization;
using System.Text.Json;
using Cochlea.Models.Data;
using NUnit.Framework;

namespace Cochlea.Tests.Data;

[Category("Data")]
public class WhichSetTests
{
    static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "fixtures", "data", "which_set.json");

    static (double[][] Splits, (string Name, double Percentage, string[] Sets)[] Cases) Fixture()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(FixturePath));
        var splits = doc.RootElement.GetProperty("splits").EnumerateArray()
            .Select(s => s.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => (
            c.GetProperty("name").GetString()!,
            double.Parse(c.GetProperty("percentage").GetString()!, CultureInfo.InvariantCulture),
            c.GetProperty("sets").EnumerateArray().Select(s => s.GetString()!).ToArray())).ToArray();
        return (splits, cases);
    }

    [Test]
    public void PercentageMatchesPythonBitForBit()
    {
        var (_, cases) = Fixture();
        Assert.That(cases, Has.Length.GreaterThan(300));
        foreach (var (name, pct, _) in cases)
            Assert.That(SpeechCommandsDataset.HashPercentage(name), Is.EqualTo(pct), $"'{name}'");
    }

    [Test]
    public void SplitMatchesPythonForEveryPercentagePair()
    {
        var (splits, cases) = Fixture();
        foreach (var (name, _, sets) in cases)
            for (int k = 0; k < splits.Length; k++)
            {
                var got = SpeechCommandsDataset.WhichSet(name, splits[k][0], splits[k][1]);
                string expected = sets[k];
                Assert.That(got switch { DataSplit.Validation => "validation", DataSplit.Testing => "testing", _ => "training" },
                    Is.EqualTo(expected), $"'{name}' with ({splits[k][0]}, {splits[k][1]})");
            }
    }

    [Test]
    public void NohashSuffixAndFolderAreIgnored()
    {
        Assert.That(SpeechCommandsDataset.HashPercentage("yes/abc_nohash_0.wav"), Is.EqualTo(SpeechCommandsDataset.HashPercentage("/x/no/abc_nohash_7.wav")));
        Assert.That(SpeechCommandsDataset.HashPercentage("abc_nohash_0.wav"), Is.EqualTo(SpeechCommandsDataset.HashPercentage("abc")));
        Assert.That(SpeechCommandsDataset.HashPercentage(@"C:\data\yes\abc_nohash_0.wav"), Is.EqualTo(SpeechCommandsDataset.HashPercentage("abc")));
        Assert.Throws<ArgumentNullException>(() => SpeechCommandsDataset.HashPercentage(null!));
    }
}
