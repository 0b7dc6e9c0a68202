using System.Globalization;
using System.Net;
using IdleClients;

// bench/tools/IdleClients: holds idle HTTP/1.1 keep-alive connections open for bench/memory.sh.
// Every connection sends one GET, reads its whole response, then stays open and silent.
// Driven over stdin, one command a line:
//   open <total>   grow to <total> open connections; answers "ready <open> errors <n>" on stdout
//   close          reset every connection (SO_LINGER 0: no TIME_WAIT pile-up between servers) and exit
//   close fin      close every connection the orderly way (FIN) and exit
// It runs in its own process because 10,000 client sockets and 10,000 server sockets do not fit one fd limit.
string host = "127.0.0.1";
int port = 8080;
string path = "/hello";
int concurrency = 200;
for (int i = 0; i < args.Length - 1; i++)
{
    switch (args[i])
    {
        case "--host":
            host = args[i + 1];
            break;
        case "--port":
            port = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--path":
            path = args[i + 1];
            break;
        case "--concurrency":
            concurrency = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
    }
}

using var pool = new IdleConnectionPool(new IPEndPoint(IPAddress.Parse(host), port), path, concurrency);
while (Console.ReadLine() is { } line)
{
    string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (words.Length == 2 && words[0] == "open")
    {
        await pool.GrowToAsync(int.Parse(words[1], CultureInfo.InvariantCulture));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ready {pool.OpenCount} errors {pool.ErrorCount}"));
        if (pool.LastError is { } error)
        {
            Console.Error.WriteLine($"last error: {error}");
        }
    }
    else if (words.Length >= 1 && words[0] == "close")
    {
        pool.Reset = words.Length == 1 || words[1] != "fin";
        break;
    }
    else
    {
        Console.Error.WriteLine($"unknown command '{line}' (open <total> | close [fin])");
    }
}
