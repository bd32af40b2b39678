// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator. Its whole state is (seed, offset), so checkpoints can store it and a
// resumed run draws exactly the same numbers, and a CUDA kernel can reproduce any stream position.
namespace Cochlea;

/// <summary>Counter-based random generator (Philox4x32-10). State = (<see cref="Seed"/>, <see cref="Offset"/>).</summary>
public sealed class Philox
{
    const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>Key of the stream.</summary>
    public ulong Seed { get; }

    /// <summary>Number of 32-bit values drawn so far (the position in the stream).</summary>
    public ulong Offset { get; set; }

    /// <summary>A generator at the start of stream <paramref name="seed"/> (or at <paramref name="offset"/>).</summary>
    public Philox(ulong seed, ulong offset = 0) { Seed = seed; Offset = offset; }

    /// <summary>The four 32-bit outputs for counter block <paramref name="block"/> of key <paramref name="seed"/>.</summary>
    public static (uint, uint, uint, uint) Block(ulong seed, ulong block)
    {
        uint c0 = (uint)block, c1 = (uint)(block >> 32), c2 = 0, c3 = 0;
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
        for (int r = 0; r < 10; r++)
        {
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0, hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
            k0 += W0; k1 += W1;
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Next 32 random bits.</summary>
    public uint NextUInt()
    {
        var (a, b, c, d) = Block(Seed, Offset >> 2);
        uint v = (Offset & 3) switch { 0 => a, 1 => b, 2 => c, _ => d };
        Offset++;
        return v;
    }

    /// <summary>Uniform float in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt() >> 8) * (1f / 16777216f);

    /// <summary>Fills <paramref name="dst"/> with uniform floats in [0, 1).</summary>
    public void Fill(Span<float> dst)
    {
        // The same values as NextFloat() in a loop, but one Philox block per four values (NextUInt computes a block per value).
        int i = 0;
        while (i < dst.Length && (Offset & 3) != 0) dst[i++] = NextFloat();
        const float unit = 1f / 16777216f;
        for (; i + 4 <= dst.Length; i += 4)
        {
            var (a, b, c, d) = Block(Seed, Offset >> 2);
            dst[i] = (a >> 8) * unit; dst[i + 1] = (b >> 8) * unit; dst[i + 2] = (c >> 8) * unit; dst[i + 3] = (d >> 8) * unit;
            Offset += 4;
        }
        while (i < dst.Length) dst[i++] = NextFloat();
    }

    /// <summary>Standard normal sample (Box-Muller on two uniforms).</summary>
    public float NextGaussian()
    {
        double u1 = 1.0 - NextFloat(), u2 = NextFloat();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
