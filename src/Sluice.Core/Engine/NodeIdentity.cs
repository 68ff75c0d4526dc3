using System.Globalization;

namespace Sluice.Core.Engine;

/// <summary>This machine and process as other nodes see them, and whether a process of this machine is still alive.</summary>
/// <remarks>Linux: a boot id names one boot of one machine (processes never outlive it), and /proc/PID/stat's start time
/// tells a pid from a later process that reused it.</remarks>
public sealed class NodeIdentity
{
    public NodeIdentity(string? hostId = null)
    {
        Host = Environment.MachineName;
        HostId = hostId ?? ReadBootId() ?? Host;
        Pid = Environment.ProcessId;
        PidStartTime = StartTimeOf(Pid) ?? 0;
    }

    public string Host { get; }

    /// <summary>The boot id (or what --host-id says, to make one machine look like several).</summary>
    public string HostId { get; }

    public int Pid { get; }

    public long PidStartTime { get; }

    /// <summary>Whether the process with that pid and start time still runs on this machine.</summary>
    public static bool IsAlive(int pid, long startTime) =>
        pid > 0 && StartTimeOf(pid) is { } t && (startTime == 0 || t == startTime);

    private static string? ReadBootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim() is { Length: > 0 } id ? id : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Field 22 of /proc/PID/stat (after the command name, which may hold spaces and parentheses); null when gone.</summary>
    private static long? StartTimeOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        var close = stat.LastIndexOf(')');
        var fields = stat[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state): a zombie has ended.
        return fields.Length > 19 && fields[0] != "Z" && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            ? t
            : null;
    }
}
