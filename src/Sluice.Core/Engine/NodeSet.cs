using System.Numerics;

namespace Sluice.Core.Engine;

/// <summary>A set of node positions (indexes into a run's scheduling order) that can be walked in order while it changes:
/// a position added ahead of the walk is met by it, one added behind waits for the next walk.</summary>
internal sealed class NodeSet
{
    private ulong[] words = new ulong[4];

    public void Add(int i)
    {
        var w = i >> 6;
        if (w >= words.Length)
        {
            Array.Resize(ref words, Math.Max(words.Length * 2, w + 1));
        }
        words[w] |= 1UL << (i & 63);
    }

    public void Remove(int i)
    {
        var w = i >> 6;
        if (w < words.Length)
        {
            words[w] &= ~(1UL << (i & 63));
        }
    }

    public bool Contains(int i)
    {
        var w = i >> 6;
        return w < words.Length && (words[w] & (1UL << (i & 63))) != 0;
    }

    public void Clear() => Array.Clear(words);

    /// <summary>The smallest position at or after <paramref name="from"/>; -1 if there is none.</summary>
    public int Next(int from)
    {
        if (from < 0)
        {
            from = 0;
        }
        var w = from >> 6;
        if (w >= words.Length)
        {
            return -1;
        }
        var bits = words[w] & (ulong.MaxValue << (from & 63));
        while (bits == 0)
        {
            if (++w >= words.Length)
            {
                return -1;
            }
            bits = words[w];
        }
        return (w << 6) + BitOperations.TrailingZeroCount(bits);
    }

    /// <summary>The largest position at or before <paramref name="from"/>; -1 if there is none.</summary>
    public int Previous(int from)
    {
        if (from < 0)
        {
            return -1;
        }
        var w = from >> 6;
        ulong bits;
        if (w >= words.Length)
        {
            w = words.Length - 1;
            bits = words[w];
        }
        else
        {
            bits = words[w] & (ulong.MaxValue >> (63 - (from & 63)));
        }
        while (bits == 0)
        {
            if (--w < 0)
            {
                return -1;
            }
            bits = words[w];
        }
        return (w << 6) + 63 - BitOperations.LeadingZeroCount(bits);
    }
}
