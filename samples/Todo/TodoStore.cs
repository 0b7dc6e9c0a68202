namespace TodoSample;

/// <summary>The items, in memory; safe to call from every loop thread at once.</summary>
public sealed class TodoStore
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<int, Todo> _items = [];
    private int _nextId = 1;

    public List<Todo> List(bool? done, string? search)
    {
        lock (_lock)
        {
            return _items.Values
                .Where(t => done is null || t.Done == done)
                .Where(t => search is null || t.Title.Contains(search, StringComparison.OrdinalIgnoreCase))
                .ToList();
        }
    }

    public Todo? Get(int id)
    {
        lock (_lock)
        {
            return _items.GetValueOrDefault(id);
        }
    }

    public Todo Add(string title, bool done)
    {
        lock (_lock)
        {
            var todo = new Todo(_nextId++, title, done);
            _items.Add(todo.Id, todo);
            return todo;
        }
    }

    public Todo? Update(int id, TodoInput change)
    {
        lock (_lock)
        {
            if (!_items.TryGetValue(id, out var todo))
            {
                return null;
            }

            todo = todo with { Title = change.Title ?? todo.Title, Done = change.Done ?? todo.Done };
            _items[id] = todo;
            return todo;
        }
    }

    public bool Remove(int id)
    {
        lock (_lock)
        {
            return _items.Remove(id);
        }
    }
}
