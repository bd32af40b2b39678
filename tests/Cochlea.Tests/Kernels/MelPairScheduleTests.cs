// The pairwise walk of the mel filterbank (MelPairSchedule): its steps replayed in scalar code feed every filter exactly its
// weights in ascending bin order (the one-chain loop's order), the kernel's output by the walk is bitwise the one-chain loop's
// on torchaudio, librosa (Slaney) and python_speech_features banks and on random banks that pass the check (every width, power
// 1 and 2, with energy, several compressions), and banks that fail the check take the one-chain loop and stay right.
using Cochlea.Kernels;
using Cochlea.Kernels.Audio;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public class MelPairScheduleTests
{
    /// <summary>The banks the walk must take: torchaudio's defaults, DeepSpeech's, Slaney, too many mels, edges inside the band.</summary>
    static IEnumerable<(string Name, StftSpec Spec, MelFilterbank Bank)> StandardBanks()
    {
        yield return ("htk 201/40", StftSpec.Torch(400, 160), MelFilterbank.Create(201, 16000, 40));
        yield return ("htk 257/64", StftSpec.Torch(512, 160), MelFilterbank.Create(257, 16000, 64));
        yield return ("slaney 257/64 20-7600 Hz", StftSpec.Torch(512, 160), MelFilterbank.Create(257, 16000, 64, 20, 7600, MelScale.Slaney, MelNorm.Slaney));
        yield return ("deepspeech 26/257", StftSpec.Torch(512, 160), MelFilterbank.SpeechFeatures(26, 512, 16000));
        yield return ("htk 201/128 (empty filters)", StftSpec.Torch(400, 160), MelFilterbank.Create(201, 16000, 128));
        yield return ("slaney 129/96 (empty filters)", StftSpec.Torch(256, 128), MelFilterbank.Create(129, 16000, 96, scale: MelScale.Slaney));
        yield return ("htk 257/40 300-3400 Hz", StftSpec.Torch(512, 160), MelFilterbank.Create(257, 16000, 40, 300, 3400));
        yield return ("deepspeech 40/257 300-3000 Hz", StftSpec.Torch(512, 160), MelFilterbank.SpeechFeatures(40, 512, 16000, 300, 3000));
    }

    /// <summary>
    /// Random banks that pass the check: starts s_m ascending (repeats allowed), filter m on [s_m, e_m) with e_m ascending and at
    /// most s_(m+2) (no bin in three filters), random positive weights; some filters empty, many one bin wide or with a gap to
    /// their neighbour.
    /// </summary>
    static MelFilterbank RandomPairBank(int mels, int bins, Random rng)
    {
        var start = new int[mels + 2];
        for (int m = 0; m < mels; m++) start[m] = rng.Next(bins);
        Array.Sort(start, 0, mels);
        start[mels] = start[mels + 1] = bins;
        var dense = new float[mels * bins];
        int prevEnd = 0;
        for (int m = 0; m < mels; m++)
        {
            if (rng.Next(8) == 0) continue; // empty
            int lo = start[m], e = Math.Max(lo, prevEnd);
            e += rng.Next(start[m + 2] - e + 1);
            if (e == lo) continue;
            for (int k = lo; k < e; k++) dense[m * bins + k] = (float)(0.05 + rng.NextDouble());
            prevEnd = e;
        }
        return MelFilterbank.FromDense(dense, mels, bins);
    }

    /// <summary>Replays the walk in scalar code: per mel, the (bin, weight) pairs in the order its chain receives them.</summary>
    static List<(int Bin, float W)>[] Replay(MelPairStep[] steps, MelFilterbank bank)
    {
        var fed = Enumerable.Range(0, bank.Mels).Select(_ => new List<(int, float)>()).ToArray();
        var values = bank.Values.ToArray();
        List<(int, float)> carry = new();
        for (int i = 0; i < steps.Length; i++)
        {
            var s = steps[i];
            var a = carry;
            var b = new List<(int, float)>();
            for (int k = 0; k < s.Solo; k++) a.Add((s.Bin + k, values[s.W + k]));
            for (int k = 0; k < s.Pair; k++)
            {
                a.Add((s.Bin + s.Solo + k, values[s.W + s.Solo + k]));
                b.Add((s.Bin + s.Solo + k, values[s.NextW + k]));
            }
            Assert.That(fed[s.Mel], Is.Empty, $"mel {s.Mel} finished twice");
            fed[s.Mel] = a;
            carry = b;
        }
        Assert.That(carry, Is.Empty, "the last step hands a partial to no mel");
        return fed;
    }

    static void AssertWalkFeedsEveryWeightInOrder(MelFilterbank bank, string name)
    {
        var steps = MelPairSchedule.TryCreate(bank, out int[] empty);
        Assert.That(steps, Is.Not.Null, $"{name}: the bank should pass the pairwise check");
        var fed = Replay(steps!, bank);
        var values = bank.Values.ToArray();
        for (int m = 0; m < bank.Mels; m++)
        {
            var want = Enumerable.Range(0, bank.Length[m]).Select(k => (bank.Start[m] + k, values[bank.Offset[m] + k])).ToList();
            Assert.That(fed[m], Is.EqualTo(want), $"{name}: mel {m} gets other weights or another order than its filter");
            Assert.That(empty.Contains(m), Is.EqualTo(bank.Length[m] == 0), $"{name}: mel {m} empty list");
        }
    }

    [Test]
    public void WalkFeedsEveryFilterItsWeightsInAscendingOrder()
    {
        foreach (var (name, _, bank) in StandardBanks()) AssertWalkFeedsEveryWeightInOrder(bank, name);
        var rng = new Random(21);
        for (int i = 0; i < 200; i++)
        {
            int mels = rng.Next(1, 50), bins = rng.Next(2, 140);
            AssertWalkFeedsEveryWeightInOrder(RandomPairBank(mels, bins, rng), $"random bank {i} ({mels} mels, {bins} bins)");
        }
    }

    [Test]
    public void StandardBanksHaveTheCasesTheTestsNeed()
    {
        // The "too many mels" banks must really have empty and one-bin filters, and the band-limited ones filters that
        // start past bin 0, or the bitwise test below does not cover those cases.
        var banks = StandardBanks().ToDictionary(b => b.Name, b => b.Bank);
        var many = banks["htk 201/128 (empty filters)"];
        Assert.That(Enumerable.Range(0, many.Mels).Count(m => many.Length[m] == 0), Is.GreaterThan(0));
        Assert.That(Enumerable.Range(0, many.Mels).Count(m => many.Length[m] == 1), Is.GreaterThan(0));
        Assert.That(Enumerable.Range(0, banks["slaney 129/96 (empty filters)"].Mels).Count(m => banks["slaney 129/96 (empty filters)"].Length[m] == 0), Is.GreaterThan(0));
        Assert.That(banks["htk 257/40 300-3400 Hz"].Start[0], Is.GreaterThan(0));
        var band = banks["htk 257/40 300-3400 Hz"];
        Assert.That(band.Start[band.Mels - 1] + band.Length[band.Mels - 1], Is.LessThan(257));
    }

    /// <summary>The log compressions the walk is checked under (each applied after the products, as the kernel does).</summary>
    static readonly (string Name, LogCompression Log)[] Compressions =
    {
        ("none", LogCompression.None),
        ("amplitude_to_db top 80", LogCompression.AmplitudeToDb(true, 80f)),
        ("ln 1e-6", LogCompression.Log(1e-6f)),
        ("ln zero floor", LogCompression.LogZeroFloor()),
    };

    static void AssertPairsMatchChainBitwise(string name, StftSpec spec, MelFilterbank bank, float[] x, int batch, int n)
    {
        foreach (var (logName, log) in Compressions)
            foreach (float power in new[] { 1f, 2f })
                foreach (bool energy in new[] { false, true })
                {
                    float scale = energy ? 1f / 512 : 1f;
                    var pairs = new MelSpectrogramKernel(spec, bank, power, log, scale, energy);
                    var chain = new MelSpectrogramKernel(spec, bank, power, log, scale, energy, pairSchedule: false);
                    Assert.That(pairs.HasPairSchedule, Is.True, $"{name}: the walk should be taken");
                    Assert.That(chain.HasPairSchedule, Is.False);
                    int rows = batch * pairs.FrameCount(n) * pairs.RowFloats;
                    foreach (var w in Simd.Available)
                    {
                        string what = $"{name}, {logName}, power {power}, energy {energy}, {w}";
                        var got = new GuardedBuffer(rows); var want = new GuardedBuffer(rows);
                        pairs.Run(x, batch, got.Span, w, 1);
                        chain.Run(x, batch, want.Span, w, 1);
                        got.AssertGuard(what);
                        var g = got.Copy(); var e = want.Copy();
                        for (int i = 0; i < rows; i++)
                            if (BitConverter.SingleToInt32Bits(g[i]) != BitConverter.SingleToInt32Bits(e[i]))
                                Assert.Fail($"{what}: element {i} is {g[i]:R} by the walk, {e[i]:R} by the one-chain loop");
                    }
                }
    }

    [Test]
    public void WalkMatchesOneChainLoopBitwiseOnStandardBanks()
    {
        var rng = new Random(5);
        // Three clips of 3001 samples: lane groups span clip boundaries at every width.
        var x = Enumerable.Range(0, 3 * 3001).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        foreach (var (name, spec, bank) in StandardBanks()) AssertPairsMatchChainBitwise(name, spec, bank, x, 3, 3001);
    }

    [Test]
    public void WalkMatchesOneChainLoopBitwiseOnRandomBanks()
    {
        var rng = new Random(8);
        var x = Enumerable.Range(0, 2 * 700).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        foreach (int nfft in new[] { 64, 100, 256 })
            for (int i = 0; i < 4; i++)
            {
                int bins = nfft / 2 + 1, mels = rng.Next(1, bins);
                AssertPairsMatchChainBitwise($"random bank n_fft {nfft} #{i} ({mels} mels)", StftSpec.Torch(nfft, nfft / 4), RandomPairBank(mels, bins, rng), x, 2, 700);
            }
    }

    /// <summary>Banks a bin of which lies in three filters, or whose filters are not in ascending order, fail the check.</summary>
    static IEnumerable<(string Name, MelFilterbank Bank)> OddBanks()
    {
        var rng = new Random(13);
        var dense = new float[12 * 201];
        for (int i = 0; i < dense.Length; i++) dense[i] = (float)rng.NextDouble();
        yield return ("dense random 12 x 201", MelFilterbank.FromDense(dense, 12, 201));
        var htk = MelFilterbank.Create(201, 16000, 40).ToDense();
        var reversed = new float[htk.Length];
        for (int m = 0; m < 40; m++) Array.Copy(htk, (39 - m) * 201, reversed, m * 201, 201);
        yield return ("htk 201/40 high to low", MelFilterbank.FromDense(reversed, 40, 201));
        // Filter 1 nested inside filter 0 (its end before filter 0's end).
        var nested = new float[3 * 201];
        for (int k = 10; k < 60; k++) nested[k] = 1f;
        for (int k = 20; k < 30; k++) nested[201 + k] = 0.5f;
        for (int k = 55; k < 90; k++) nested[402 + k] = 0.25f;
        yield return ("nested filter", MelFilterbank.FromDense(nested, 3, 201));
        // Three filters sharing bin 40.
        var triple = new float[3 * 201];
        for (int k = 0; k < 41; k++) triple[k] = 1f;
        for (int k = 20; k < 60; k++) triple[201 + k] = 1f;
        for (int k = 40; k < 80; k++) triple[402 + k] = 1f;
        yield return ("bin in three filters", MelFilterbank.FromDense(triple, 3, 201));
    }

    [Test]
    public void BanksFailingTheCheckTakeTheOneChainLoopAndStayRight([ValueSource(typeof(Simd), nameof(Simd.Available))] SimdWidth w)
    {
        var spec = StftSpec.Torch(400, 160);
        var rng = new Random(3);
        var x = Enumerable.Range(0, 2 * 4000).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        foreach (var (name, bank) in OddBanks())
        {
            Assert.That(MelPairSchedule.TryCreate(bank, out _), Is.Null, $"{name} should fail the pairwise check");
            foreach (var (logName, log, f) in new (string, LogCompression, Func<double, double>)[]
            {
                ("none", LogCompression.None, v => v),
                ("db", LogCompression.PowerToDb(topDb: null), v => 10 * Math.Log10(Math.Max(v, 1e-10))),
            })
            {
                var k = new MelSpectrogramKernel(spec, bank, 2f, log);
                Assert.That(k.HasPairSchedule, Is.False, name);
                var y = new GuardedBuffer(2 * k.FrameCount(4000) * bank.Mels);
                k.Run(x, 2, y.Span, w, 1);
                y.AssertGuard(name);
                var want = MelFeatureKernelTests.MelReference(spec, bank, x, 2, f);
                double range = want.Max() - want.Min();
                for (int i = 0; i < want.Length; i++)
                    Assert.That(y.Data[i], Is.EqualTo(want[i]).Within(2e-6 * range + 1e-6 * Math.Abs(want[i])), $"{name} {logName} {w} at {i}");
            }
        }
    }
}
