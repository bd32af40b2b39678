// Derivation of independent random streams from one seed: key = Philox-as-a-hash of (seed, a, b).
// The loader gives each (epoch, batch) its own stream this way, so a batch's contents and
// augmentation depend only on (seed, epoch, batch index), never on which worker made it or when.
namespace Cochlea.Models.Data;

/// <summary>Keys of independent <see cref="Philox"/> streams derived from a seed.</summary>
public static class Seeds
{
    /// <summary>
    /// A 64-bit key for the stream named (<paramref name="a"/>, <paramref name="b"/>) under <paramref name="seed"/>:
    /// two rounds of the Philox block function used as a keyed hash (its output is a bijection of the counter, and
    /// changing the key changes every bit).
    /// </summary>
    public static ulong Derive(ulong seed, ulong a, ulong b)
    {
        var (x0, x1, _, _) = Philox.Block(seed, a);
        var (y0, y1, _, _) = Philox.Block(x0 | ((ulong)x1 << 32), b);
        return y0 | ((ulong)y1 << 32);
    }
}
