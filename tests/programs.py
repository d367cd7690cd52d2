"""Programs more than one test module judges."""

#: Python that fills /tmp with empty files for 3.5 s (hundreds of thousands of them: more
#: than the supervisor removes in its time budget, so the jail is poisoned and replaced),
#: then prints "done".
TMP_FLOOD = ("import os, time\n"
             "end, n = time.monotonic() + 3.5, 0\n"
             "while time.monotonic() < end:\n"
             "    for _ in range(1000):\n"
             "        os.close(os.open(f'/tmp/{n}', os.O_CREAT | os.O_WRONLY, 0o600))\n"
             "        n += 1\n"
             "print('done')\n")

#: Valid C++ whose compile step computes for seconds (constant evaluation: about 7 s of g++ -O2).
SLOW_TO_COMPILE = """\
constexpr long spin() {
  long s = 0;
  for (long i = 0; i < 1000; ++i)
    for (long j = 0; j < 4000; ++j) s += (i ^ j) & 7;
  return s;
}
static_assert(spin() > 0);
int main() {}
"""
