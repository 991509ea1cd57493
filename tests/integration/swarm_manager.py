#!/usr/bin/python3
"""A Work Queue manager for the swarm tests, on Debian's work_queue module,
run by 'omerta swarm -- /usr/bin/python3 swarm_manager.py ...' with the
swarm's port and password file from its environment. Says what happens on
stdout, a line each, flushed (the tests wait for these lines).

  tasks N DIR     N tasks, task I sent DIR/in.I ("task I"), each upper-casing
                  it into DIR/out.I after sleeping SLEEP seconds (env, 2);
                  exits 0 when all came back, 1 after DEADLINE seconds (env,
                  600) or on a failed task.
  none SECONDS [PASSWORD-FILE]
                  one task that no worker may run: exits 0 if no worker
                  joined in SECONDS, 1 if one did. With PASSWORD-FILE, it
                  asks workers for that password instead of the swarm's.
"""
import os
import sys
import time

import work_queue as wq


def manager(password_file=None):
    q = wq.WorkQueue(port=int(os.environ["OMERTA_SWARM_PORT"]))
    q.specify_password_file(password_file or os.environ["OMERTA_SWARM_PASSWORD_FILE"])
    print("manager on port", q.port, "address", os.environ["OMERTA_SWARM_ADDRESS"], flush=True)
    return q


def tasks(n, d):
    q = manager()
    sleep = int(os.environ.get("SLEEP", "2"))
    deadline = time.time() + int(os.environ.get("DEADLINE", "600"))
    for i in range(n):
        with open(os.path.join(d, "in.%d" % i), "w") as f:
            f.write("task %d\n" % i)
        t = wq.Task("sleep %d; tr a-z A-Z < in.txt > out.txt" % sleep)
        t.specify_input_file(os.path.join(d, "in.%d" % i), "in.txt", cache=False)
        t.specify_output_file(os.path.join(d, "out.%d" % i), "out.txt", cache=False)
        t.specify_tag(str(i))
        q.submit(t)
    done = 0
    while not q.empty():
        if time.time() > deadline:
            print("deadline passed with", done, "of", n, "done", flush=True)
            return 1
        t = q.wait(2)
        if not t:
            continue
        if t.result != wq.WORK_QUEUE_RESULT_SUCCESS or t.return_status != 0:
            print("task", t.tag, "failed: result", t.result, "status", t.return_status,
                  flush=True)
            return 1
        done += 1
        print("task", t.tag, "done on", ascii(t.hostname), flush=True)
    print("all", n, "tasks done; workers joined", q.stats.workers_joined, flush=True)
    return 0


def none(seconds, password_file):
    q = manager(password_file)
    t = wq.Task("true")
    q.submit(t)
    end = time.time() + seconds
    while time.time() < end:
        q.wait(1)
        if q.stats.workers_joined:
            print("a worker joined", flush=True)
            return 1
    print("no worker joined in", seconds, "s", flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "tasks":
        sys.exit(tasks(int(sys.argv[2]), sys.argv[3]))
    sys.exit(none(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None))
