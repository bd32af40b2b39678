// BatchNorm kernels: train / eval forward and backward on every path vs the double reference
// (odd N, C, S incl. S = 0..257 and S = 1), running-stat update with PyTorch's unbiased variance,
// a large-offset input (stability), and the backward vs finite differences of the reference forward.
using Cochlea.Kernels;
using Cochlea.Kernels.Normalization;
using NUnit.Framework;

namespace Cochlea.Tests.Kernels;

[Category("Kernels")]
public unsafe class BatchNormTests
{
    static IEnumerable<(int N, int C, int S)> Shapes()
    {
        yield return (2, 3, 1);
        yield return (5, 1, 1);
        yield return (1, 4, 7);
        yield return (3, 5, 33);
        yield return (2, 2, 400);
        for (int s = 0; s <= 257; s += 1 + s / 8) yield return (2, 2, s);
    }

    // The train forward's statistics against the reference's: saved mean and invstd, updated running mean and var.
    static void CheckStats(GuardedBuffer sm, float[] smr, GuardedBuffer si, float[] sir, float[] rm, float[] rm2, float[] rv, float[] rv2, string what)
    {
        Check.Close(sm.Span, smr, 1e-6, 1e-6, "mean " + what);
        Check.Close(si.Span, sir, 1e-6, 1e-6, "invstd " + what);
        Check.Close(rm, rm2, 1e-6, 1e-6, "running mean " + what);
        Check.Close(rv, rv2, 1e-6, 1e-6, "running var " + what);
    }

    // The backward's gamma and beta gradients against the reference's.
    static void CheckAffineGrads(GuardedBuffer dg, float[] dgr, GuardedBuffer db, float[] dbr, string what)
    {
        Check.Close(dg.Span, dgr, 1e-4, 1e-5, "dgamma " + what);
        Check.Close(db.Span, dbr, 1e-4, 1e-5, "dbeta " + what);
    }

    [Test]
    public void TrainForwardAndBackwardMatchReference()
    {
        var rng = new Random(30);
        foreach (var wd in Check.Paths)
            foreach (var (n, c, s) in Shapes())
            {
                if ((long)n * s <= 1) continue;
                int len = n * c * s;
                var x = Check.Rand(len, rng).Select(v => v * 3 + 1.5f).ToArray();
                var dy = Check.Rand(len, rng);
                var gamma = Check.Rand(c, rng);
                var beta = Check.Rand(c, rng);
                var rm = Check.Rand(c, rng); var rv = Check.Rand(c, rng).Select(Math.Abs).ToArray();
                var rm2 = rm.ToArray(); var rv2 = rv.ToArray();
                var y = new GuardedBuffer(len); var yr = new float[len];
                var sm = new GuardedBuffer(c); var si = new GuardedBuffer(c);
                var smr = new float[c]; var sir = new float[c];
                var dx = new GuardedBuffer(len); var dxr = new float[len];
                var dg = new GuardedBuffer(c); var db = new GuardedBuffer(c);
                var dgr = new float[c]; var dbr = new float[c];
                fixed (float* px = x, pdy = dy, pg = gamma, pb = beta, prm = rm, prv = rv, prm2 = rm2, prv2 = rv2,
                       py = y.Data, pyr = yr, psm = sm.Data, psi = si.Data, psmr = smr, psir = sir,
                       pdx = dx.Data, pdxr = dxr, pdg = dg.Data, pdb = db.Data, pdgr = dgr, pdbr = dbr)
                {
                    BatchNorm.ForwardTrain(px, py, n, c, s, pg, pb, 1e-5f, 0.1f, prm, prv, psm, psi, wd);
                    BatchNormReference.ForwardTrain(px, pyr, n, c, s, pg, pb, 1e-5f, 0.1f, prm2, prv2, psmr, psir);
                    BatchNorm.Backward(px, pdy, pdx, n, c, s, pg, psm, psi, pdg, pdb, wd);
                    BatchNormReference.Backward(px, pdy, pdxr, n, c, s, pg, psmr, psir, pdgr, pdbr);
                }
                string what = $"{wd} ({n},{c},{s})";
                Check.Close(y.Span, yr, 1e-5, 1e-5, "y " + what);
                CheckStats(sm, smr, si, sir, rm, rm2, rv, rv2, what);
                Check.Close(dx.Span, dxr, 1e-5, 1e-4, "dx " + what);
                CheckAffineGrads(dg, dgr, db, dbr, what);
                foreach (var g in new[] { y, sm, si, dx, dg, db }) g.AssertGuard(what);
            }
    }

    [Test]
    public void ChannelMajorReluMatchesReference()
    {
        // z (C, N*P) -> y (N, C, P) = relu(bn(z)) and back to dz (C, N*P); the reference is the double batch norm on
        // z as (1, C, N*P), then ReLU and the layout move done by hand.
        var rng = new Random(34);
        foreach (var wd in Check.Paths)
            foreach (var (n, c, p) in new[] { (2, 3, 1), (1, 2, 5), (5, 3, 3), (4, 2, 17), (3, 5, 33), (2, 2, 400), (64, 3, 9) })
            {
                int m = n * p, len = c * m;
                var z = Check.Rand(len, rng).Select(v => v * 3 + 1.5f).ToArray();
                var dy = Check.Rand(len, rng);
                var gamma = Check.Rand(c, rng); var beta = Check.Rand(c, rng);
                var rm = Check.Rand(c, rng); var rv = Check.Rand(c, rng).Select(Math.Abs).ToArray();
                var rm2 = rm.ToArray(); var rv2 = rv.ToArray();
                var y = new GuardedBuffer(len); var dz = new GuardedBuffer(len);
                var sm = new GuardedBuffer(c); var si = new GuardedBuffer(c); var dg = new GuardedBuffer(c); var db = new GuardedBuffer(c);
                var bnr = new float[len]; var smr = new float[c]; var sir = new float[c];
                var dzr = new float[len]; var dgr = new float[c]; var dbr = new float[c];
                fixed (float* pz = z, pdy = dy, pg = gamma, pb = beta, prm = rm, prv = rv, prm2 = rm2, prv2 = rv2,
                       py = y.Data, pdz = dz.Data, psm = sm.Data, psi = si.Data, pdg = dg.Data, pdb = db.Data, pbnr = bnr, psmr = smr, psir = sir)
                {
                    BatchNorm.ForwardTrainChannelMajorRelu(pz, py, n, c, p, pg, pb, 1e-3f, 0.1f, prm, prv, psm, psi, wd);
                    BatchNormReference.ForwardTrain(pz, pbnr, 1, c, m, pg, pb, 1e-3f, 0.1f, prm2, prv2, psmr, psir);
                }
                // Reference y in (N, C, P) and the masked dy moved to (C, N*P).
                var yr = new float[len]; var dyCm = new float[len];
                for (int ch = 0; ch < c; ch++)
                    for (int b = 0; b < n; b++)
                        for (int q = 0; q < p; q++)
                        {
                            int cm = ch * m + b * p + q, bm = (b * c + ch) * p + q;
                            yr[bm] = Math.Max(0f, bnr[cm]);
                            dyCm[cm] = bnr[cm] > 0 ? dy[bm] : 0f;
                        }
                string what = $"{wd} ({n},{c},{p})";
                Check.Close(y.Span, yr, 1e-5, 1e-5, "y " + what);
                CheckStats(sm, smr, si, sir, rm, rm2, rv, rv2, what);
                // The backward's mask comes from y itself (y > 0), so feed the kernel's y; near-zero outputs could
                // otherwise flip between the kernel and the reference.
                var yk = y.Span.ToArray();
                for (int ch = 0; ch < c; ch++)
                    for (int b = 0; b < n; b++)
                        for (int q = 0; q < p; q++) { int cm = ch * m + b * p + q, bm = (b * c + ch) * p + q; dyCm[cm] = yk[bm] > 0 ? dy[bm] : 0f; }
                fixed (float* pz = z, pdy = dy, pg = gamma, py = yk, pdz = dz.Data, psm = sm.Data, psi = si.Data, pdg = dg.Data, pdb = db.Data,
                       pdyc = dyCm, pdzr = dzr, pdgr = dgr, pdbr = dbr)
                {
                    BatchNorm.BackwardChannelMajorRelu(pz, py, pdy, pdz, n, c, p, pg, psm, psi, pdg, pdb, wd);
                    BatchNormReference.Backward(pz, pdyc, pdzr, 1, c, m, pg, psm, psi, pdgr, pdbr);
                }
                Check.Close(dz.Span, dzr, 1e-5, 1e-4, "dz " + what);
                CheckAffineGrads(dg, dgr, db, dbr, what);
                foreach (var g in new[] { y, dz, sm, si, dg, db }) g.AssertGuard(what);
            }
    }

    [Test]
    public void EvalMatchesFormula()
    {
        var rng = new Random(31);
        foreach (var wd in Check.Paths)
            foreach (var (n, c, s) in Shapes())
            {
                int len = n * c * s;
                var x = Check.Rand(len, rng);
                var gamma = Check.Rand(c, rng); var beta = Check.Rand(c, rng);
                var rm = Check.Rand(c, rng); var rv = Check.Rand(c, rng).Select(v => Math.Abs(v) + 0.1f).ToArray();
                var y = new GuardedBuffer(len);
                fixed (float* px = x, py = y.Data, pg = gamma, pb = beta, prm = rm, prv = rv)
                    BatchNorm.ForwardEval(px, py, n, c, s, pg, pb, prm, prv, 1e-3f, wd);
                var expect = new double[len];
                for (int i = 0; i < len; i++)
                {
                    int ch = i / s % c;
                    expect[i] = (x[i] - rm[ch]) / Math.Sqrt(rv[ch] + 1e-3) * gamma[ch] + beta[ch];
                }
                Check.Close(y.Span, expect, 1e-6, 1e-5, $"{wd} ({n},{c},{s})");
                y.AssertGuard($"{wd} ({n},{c},{s})");
            }
    }

    [Test]
    public void StatisticsStayAccurateWithLargeOffset()
    {
        // Values 1000 + small noise: a float E[x^2] - mean^2 formula would lose the variance entirely.
        const int n = 4, c = 2, s = 3000;
        var rng = new Random(32);
        var x = Check.Rand(n * c * s, rng).Select(v => 1000f + v * 0.01f).ToArray();
        var y = new float[x.Length];
        var sm = new float[c]; var si = new float[c]; var smr = new float[c]; var sir = new float[c];
        var yr = new float[x.Length];
        foreach (var wd in Check.Paths)
        {
            fixed (float* px = x, py = y, psm = sm, psi = si, pyr = yr, psmr = smr, psir = sir)
            {
                BatchNorm.ForwardTrain(px, py, n, c, s, null, null, 1e-12f, 0.1f, null, null, psm, psi, wd);
                BatchNormReference.ForwardTrain(px, pyr, n, c, s, null, null, 1e-12f, 0.1f, null, null, psmr, psir);
            }
            Check.Close(si, sir, 0, 1e-4, $"{wd} invstd");
            Check.Close(y, yr, 1e-3, 1e-3, $"{wd} y");
        }
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int n = 3, c = 2, s = 4;
        var rng = new Random(33);
        var x = Check.Rand(n * c * s, rng);
        var dy = Check.Rand(x.Length, rng);
        var gamma = new[] { 0.7f, -1.3f };
        var beta = new[] { 0.2f, 0.5f };
        var dx = new float[x.Length]; var dg = new float[c]; var db = new float[c];
        var y = new float[x.Length]; var sm = new float[c]; var si = new float[c];
        fixed (float* px = x, pdy = dy, pg = gamma, pb = beta, pdx = dx, pdg = dg, pdb = db, py = y, psm = sm, psi = si)
        {
            BatchNorm.ForwardTrain(px, py, n, c, s, pg, pb, 1e-5f, 0.1f, null, null, psm, psi);
            BatchNorm.Backward(px, pdy, pdx, n, c, s, pg, psm, psi, pdg, pdb);
        }
        double Loss()
        {
            var o = new float[x.Length]; var m = new float[c]; var v = new float[c];
            fixed (float* px = x, pg = gamma, pb = beta, po = o, pm = m, pv = v)
                BatchNormReference.ForwardTrain(px, po, n, c, s, pg, pb, 1e-5f, 0.1f, null, null, pm, pv);
            return Check.Dot(o, dy);
        }
        double Fd(float[] a, int i)
        {
            const float h = 1e-2f;
            float v = a[i];
            a[i] = v + h; double lp = Loss();
            a[i] = v - h; double lm = Loss();
            a[i] = v;
            return (lp - lm) / (2 * h);
        }
        for (int i = 0; i < x.Length; i++) Assert.That(dx[i], Is.EqualTo(Fd(x, i)).Within(3e-3), $"dx[{i}]");
        for (int i = 0; i < c; i++)
        {
            Assert.That(dg[i], Is.EqualTo(Fd(gamma, i)).Within(3e-3), $"dgamma[{i}]");
            Assert.That(db[i], Is.EqualTo(Fd(beta, i)).Within(3e-3), $"dbeta[{i}]");
        }
    }

    [Test]
    public void TrainingNeedsMoreThanOneValuePerChannel()
    {
        var x = new float[3]; var sm = new float[3]; var si = new float[3];
        Assert.Throws<ArgumentException>(() =>
        {
            fixed (float* px = x, psm = sm, psi = si) BatchNorm.ForwardTrain(px, px, 1, 3, 1, null, null, 1e-5f, 0.1f, null, null, psm, psi);
        });
    }
}
