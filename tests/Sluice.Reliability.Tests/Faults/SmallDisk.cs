using System.Diagnostics;

namespace Sluice.Reliability.Tests.Faults;

/// <summary>A small tmpfs mounted for one test, so that "disk full" is real: the kernel answers ENOSPC. Needs root (or
/// CAP_SYS_ADMIN); where mounting is refused the tests that need it are skipped with the reason.</summary>
public sealed class SmallDisk : IDisposable
{
    private SmallDisk(string path) => Path = path;

    public string Path { get; }

    public static SmallDisk Mount(int megabytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sluice-small-disk-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"mount -t tmpfs failed ({code}): {output}");
        }
        return new SmallDisk(path);
    }

    /// <summary>Null when a tmpfs can be mounted here, otherwise why not (computed once, when the tests are discovered).</summary>
    public static readonly Lazy<string?> WhyNot = new(() =>
    {
        if (!OperatingSystem.IsLinux())
        {
            return "disk-full tests mount a tmpfs, which needs Linux";
        }
        try
        {
            using var d = Mount(1);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): {e.Message}";
        }
    });

    /// <summary>Writes a file of zeros until the device is full; returns its path.</summary>
    public string Fill()
    {
        var filler = System.IO.Path.Combine(Path, "filler");
        var block = new byte[64 * 1024];
        using var f = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        try
        {
            while (true)
            {
                f.Write(block);
            }
        }
        catch (IOException)
        {
        }
        // The last bytes too: a 64 KiB block may not fit where a page would.
        try
        {
            while (true)
            {
                f.Write(block, 0, 512);
            }
        }
        catch (IOException)
        {
        }
        return filler;
    }

    public void Dispose()
    {
        // Lazy: a server or a step may still hold a file open.
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output.Trim());
    }
}

/// <summary>A fact that is skipped, with the reason, where a small tmpfs cannot be mounted.</summary>
public sealed class SmallDiskFactAttribute : FactAttribute
{
    public SmallDiskFactAttribute()
    {
        if (SmallDisk.WhyNot.Value is { } why)
        {
            Skip = why;
        }
    }
}
