using System.Net;
using System.Net.Sockets;

namespace Sluice.TestKit;

/// <summary>Loopback ports for test servers.</summary>
public static class Loopback
{
    /// <summary>A port that was free a moment ago; another process may take it before it is bound.</summary>
    public static int ProbeFreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Starts an HttpListener for http://127.0.0.1:PORT{path} on a free port, trying another port when the probed one
    /// was taken in between (the machine is shared with other test runs).</summary>
    public static (HttpListener Listener, int Port) StartHttpListener(string path = "/") => StartHttpListener(path, ProbeFreePort);

    /// <summary>As <see cref="StartHttpListener(string)"/>, with the ports to try given by <paramref name="probe"/>.</summary>
    public static (HttpListener Listener, int Port) StartHttpListener(string path, Func<int> probe)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = probe();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}{path}");
            try
            {
                listener.Start();
                return (listener, port);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }
}
