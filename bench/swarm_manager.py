#!/usr/bin/python3
"""bench/swarm.sh's Work Queue manager (Debian's work_queue module, hence
/usr/bin/python3), with the port and password file from OMERTA_SWARM_PORT
and OMERTA_SWARM_PASSWORD_FILE: what 'omerta swarm' gives its manager, and
what the bench gives the same manager for its local workers. Times are
CLOCK_MONOTONIC in seconds, the clock of 'now' and 'stamp' too, so the
script's own stamps compare with them.

  run N DIR SECONDS DEADLINE
        N tasks, each sent DIR/in.I (64 KiB of random bytes) and running
        'sleep SECONDS; sha256sum < in.dat > out.txt', its out.txt back as
        DIR/out.I, checked against the input's digest. Prints, a line each,
        flushed: 'listening T'; 'result T TAG WORKER CMD IN OUT SPAN' per
        task back (the command's seconds as the worker measured them, the
        input's and the output's transfers, and from the input's start to
        the output's end); 'done T N'; then 'joined T WORKER' per worker
        connection (from the transactions log). Exits 0 when all came
        back right, 1 on a failed or wrong task or after DEADLINE seconds.
  now   prints the time.
  stamp FILE
        follows FILE (polled every 20 ms), printing 'T LINE' for each line
        as it appears, until killed.
"""
import hashlib
import os
import sys
import time


def run(n, d, seconds, deadline):
    import work_queue as wq

    # The transactions log's times are the wall clock's (microseconds):
    # the offset to ours, taken once.
    offset = time.time() - time.monotonic()
    log = os.path.join(d, "transactions")
    q = wq.WorkQueue(port=int(os.environ["OMERTA_SWARM_PORT"]), transactions_log=log)
    q.specify_password_file(os.environ["OMERTA_SWARM_PASSWORD_FILE"])
    print("listening %.3f" % time.monotonic(), flush=True)
    digests = {}
    for i in range(n):
        data = os.urandom(64 * 1024)
        digests[str(i)] = hashlib.sha256(data).hexdigest()
        with open(os.path.join(d, "in.%d" % i), "wb") as f:
            f.write(data)
        t = wq.Task("sleep %d; sha256sum < in.dat > out.txt" % seconds)
        t.specify_input_file(os.path.join(d, "in.%d" % i), "in.dat", cache=False)
        t.specify_output_file(os.path.join(d, "out.%d" % i), "out.txt", cache=False)
        t.specify_tag(str(i))
        q.submit(t)
    end = time.monotonic() + deadline
    done = 0
    while not q.empty():
        if time.monotonic() > end:
            print("deadline passed with", done, "of", n, "done", flush=True)
            return 1
        t = q.wait(1)
        if not t:
            continue
        now = time.monotonic()
        if t.result != wq.WORK_QUEUE_RESULT_SUCCESS or t.return_status != 0:
            print("task", t.tag, "failed: result", t.result, "status", t.return_status,
                  flush=True)
            return 1
        with open(os.path.join(d, "out.%s" % t.tag)) as f:
            got = f.read().split()
        if not got or got[0] != digests[t.tag]:
            print("task", t.tag, "brought back a wrong digest", flush=True)
            return 1
        done += 1
        # The task's own times (microseconds, wall clock): see above.
        print("result %.3f %s %s %.3f %.3f %.3f %.3f" % (
            now, t.tag, t.host or "-", t.cmd_execution_time / 1e6,
            (t.send_input_finish - t.send_input_start) / 1e6,
            (t.receive_output_finish - t.receive_output_start) / 1e6,
            (t.receive_output_finish - t.send_input_start) / 1e6), flush=True)
    print("done %.3f %d" % (time.monotonic(), done), flush=True)
    # 'TIME PID WORKER ID ADDRESS CONNECTION' lines; the rest is not ours.
    with open(log) as f:
        for line in f:
            w = line.split()
            if len(w) == 6 and w[2] == "WORKER" and w[5] == "CONNECTION":
                print("joined %.3f %s" % (int(w[0]) / 1e6 - offset, w[4]), flush=True)
    return 0


def stamp(path):
    while not os.path.exists(path):
        time.sleep(0.02)
    part = ""
    with open(path) as f:
        while True:
            chunk = f.readline()
            if not chunk:
                time.sleep(0.02)
                continue
            part += chunk
            if part.endswith("\n"):
                print("%.3f %s" % (time.monotonic(), part), end="", flush=True)
                part = ""


if __name__ == "__main__":
    if sys.argv[1] == "run":
        sys.exit(run(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
    if sys.argv[1] == "now":
        print("%.3f" % time.monotonic())
        sys.exit(0)
    if sys.argv[1] == "stamp":
        stamp(sys.argv[2])
    sys.exit(2)
