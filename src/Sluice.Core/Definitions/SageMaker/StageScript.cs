namespace Sluice.Core.Definitions.SageMaker;

/// <summary>The shell program a SageMaker job step runs as its command: it stages the job's inputs from the object
/// directory into the step's folders, runs the job's command, and on success copies the outputs back. Everything happens
/// inside the step's process group, so a stop ends the staging too and a restart re-adopts it like any process step.</summary>
/// <remarks>argv: <c>sh -c SCRIPT sluice-job [OP A B WHAT]... -- N CMD_1 .. CMD_N [OP A B WHAT]...</c>. Before the
/// command: <c>in</c> (object path A, a file or a directory, into directory B), <c>untar</c> (tar.gz A, or a directory,
/// into B), <c>mkdir</c> (A), <c>file</c> (write text B to file A), <c>cd</c> (A), <c>fail</c> (report A, exit 2). After it:
/// <c>out</c> (contents of directory A into object path B), <c>tarout</c> (directory A as a tar.gz at object path B) on
/// success, and <c>onfail</c> (print file A to stderr) on failure. WHAT names the item in messages.</remarks>
internal static class StageScript
{
    public const string Name = "sluice-job";

    public const string Text = """
        set -u
        while [ "$1" != "--" ]; do
          op=$1; a=$2; b=$3; what=$4; shift 4
          case $op in
            in)
              if [ -d "$a" ]; then mkdir -p "$b" && cp -R "$a/." "$b/" || exit 1
              elif [ -f "$a" ]; then mkdir -p "$b" && cp "$a" "$b/" || exit 1
              else echo "sluice: $what is not in the object directory (no $a)" >&2; exit 1; fi ;;
            untar)
              if [ -f "$a" ]; then mkdir -p "$b" && tar -xzf "$a" -C "$b" || { echo "sluice: could not unpack $what ($a)" >&2; exit 1; }
              elif [ -d "$a" ]; then mkdir -p "$b" && cp -R "$a/." "$b/" || exit 1
              else echo "sluice: $what is not in the object directory (no $a)" >&2; exit 1; fi ;;
            mkdir) mkdir -p "$a" || exit 1 ;;
            file) mkdir -p "$(dirname "$a")" && printf '%s' "$b" > "$a" || exit 1 ;;
            cd) mkdir -p "$a" && cd "$a" || exit 1 ;;
            fail) echo "sluice: $a" >&2; exit 2 ;;
          esac
        done
        shift
        n=$1; shift
        (
          total=$#; i=0
          while [ "$i" -lt "$n" ]; do set -- "$@" "$1"; shift; i=$((i + 1)); done
          shift $((total - n))
          if ! command -v "$1" >/dev/null 2>&1; then
            echo "sluice: '$1' is not a program on this host (the job's image ${SLUICE_IMAGE:-} is recorded, not pulled: Sluice runs the job's command on the host)" >&2
            exit 127
          fi
          exec "$@"
        )
        rc=$?
        shift "$n"
        while [ "$#" -ge 4 ]; do
          op=$1; a=$2; b=$3; what=$4; shift 4
          if [ "$rc" -ne 0 ]; then
            if [ "$op" = onfail ] && [ -s "$a" ]; then cat "$a" >&2; echo >&2; fi
            continue
          fi
          case $op in
            out) mkdir -p "$b" && cp -R "$a/." "$b/" || { echo "sluice: could not store $what in $b" >&2; exit 1; } ;;
            tarout) mkdir -p "$(dirname "$b")" && tar -czf "$b" -C "$a" . || { echo "sluice: could not store $what in $b" >&2; exit 1; } ;;
          esac
        done
        exit "$rc"
        """;
}
