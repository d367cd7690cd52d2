"""Generated programs: three small tasks in five languages, correct and deliberately wrong.

Every test is one line of distinct integers. Tasks: the sum, the tokens reversed, the
maximum. Variants: ``ok`` (passes), ``wrong`` (prints a wrong answer on every test: sum + 1,
the tokens unreversed, the minimum) and ``crash`` (exits with an error). Each program gets
its own number in a comment, so no two sources are the same.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LANGUAGES = ("lua", "python", "ocaml", "fortran", "r")
TASKS = ("sum", "reverse", "max")
#: Share of each variant in a workload (the rest is ``ok``).
WRONG_SHARE, CRASH_SHARE = 0.2, 0.1

EXPECTED_VERDICT = {"ok": "pass", "wrong": "wrong_output", "crash": "runtime_error"}

_COMMENT = {"lua": "-- ", "python": "# ", "ocaml": None, "fortran": "! ", "r": "# "}

_LUA = {
    "sum": ("local s = 0\nfor x in io.read('l'):gmatch('%-?%d+') do s = s + tonumber(x) end\nprint(s{off})\n"),
    "reverse": ("local t = {}\nfor w in io.read('l'):gmatch('%S+') do t[#t + 1] = w end\nlocal r = {}\n"
                "for i = #t, 1, -1 do r[#r + 1] = t[i] end\nprint(table.concat({rev}, ' '))\n"),
    "max": ("local m\nfor x in io.read('l'):gmatch('%-?%d+') do\n  local v = tonumber(x)\n"
            "  if m == nil or v {cmp} m then m = v end\nend\nprint(m)\n"),
    "crash": "error('boom')\n",
}
_PY = {
    "sum": "import sys\nprint(sum(int(x) for x in sys.stdin.readline().split()){off})\n",
    "reverse": "import sys\nt = sys.stdin.readline().split()\nprint(' '.join({rev}))\n",
    "max": "import sys\nprint({mx}(int(x) for x in sys.stdin.readline().split()))\n",
    "crash": "raise SystemExit('boom')\n",
}
_ML_HEAD = ("let toks = List.filter (fun s -> s <> \"\") (String.split_on_char ' ' (read_line ()))\n"
            "let nums = List.map int_of_string toks\n")
_ML = {
    "sum": _ML_HEAD + "let () = Printf.printf \"%d\\n\" (List.fold_left ( + ) 0 nums{off})\n",
    "reverse": _ML_HEAD + "let () = print_endline (String.concat \" \" ({rev}))\n",
    "max": _ML_HEAD + "let () = Printf.printf \"%d\\n\" (List.fold_left {mx} (List.hd nums) nums)\n",
    "crash": "let () = failwith \"boom\"\n",
}
_F90_BODY = """program main
  implicit none
  character(len=100000) :: line
  integer(8) :: a(10000)
  integer :: n, k
  logical :: inword
  read(*, '(A)') line
  n = 0
  inword = .false.
  do k = 1, len_trim(line)
    if (line(k:k) /= ' ') then
      if (.not. inword) n = n + 1
      inword = .true.
    else
      inword = .false.
    end if
  end do
  read(line, *) a(1:n)
{body}
end program main
"""
_F90 = {
    "sum": "  write(*, '(I0)') sum(a(1:n)){off}",
    "reverse": "  write(*, '(*(I0, :, \" \"))') {rev}",
    "max": "  write(*, '(I0)') {mx}(a(1:n))",
}
_R = {
    "sum": "x <- scan(file('stdin'), what = integer(), quiet = TRUE, nlines = 1)\ncat(sum(x){off}, '\\n', sep = '')\n",
    "reverse": "x <- scan(file('stdin'), what = integer(), quiet = TRUE, nlines = 1)\ncat({rev}, sep = ' ')\ncat('\\n')\n",
    "max": "x <- scan(file('stdin'), what = integer(), quiet = TRUE, nlines = 1)\ncat({mx}(x), '\\n', sep = '')\n",
    "crash": "stop('boom')\n",
}


def _fill(template: str, **values: str) -> str:
    """Replace ``{name}`` markers (not str.format: the programs hold braces of their own)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def source(language: str, task: str, variant: str, number: int) -> str:
    """The program for one (language, task, variant); ``number`` makes the source unique."""
    wrong = variant == "wrong"
    if language == "lua":
        code = _LUA["crash"] if variant == "crash" else _fill(_LUA[task], 
            off=" + 1" if wrong else "", rev="t" if wrong else "r", cmp="<" if wrong else ">")
    elif language == "python":
        code = _PY["crash"] if variant == "crash" else _fill(_PY[task], 
            off=" + 1" if wrong else "", rev="t" if wrong else "reversed(t)", mx="min" if wrong else "max")
    elif language == "ocaml":
        code = _ML["crash"] if variant == "crash" else _fill(_ML[task], 
            off=" + 1" if wrong else "", rev="toks" if wrong else "List.rev toks", mx="min" if wrong else "max")
        return f"(* program {number} *)\n{code}"
    elif language == "fortran":
        body = "  error stop 'boom'" if variant == "crash" else _fill(_F90[task], 
            off=" + 1" if wrong else "", rev="a(1:n)" if wrong else "a(n:1:-1)", mx="minval" if wrong else "maxval")
        code = _fill(_F90_BODY, body=body)
    elif language == "r":
        code = _R["crash"] if variant == "crash" else _fill(_R[task], 
            off=" + 1L" if wrong else "", rev="x" if wrong else "rev(x)", mx="min" if wrong else "max")
    else:
        raise ValueError(f"no generated programs for {language!r}; choose from {', '.join(LANGUAGES)}")
    return f"{_COMMENT[language]}program {number}\n{code}"


def answer(task: str, numbers: list[int]) -> str:
    if task == "sum":
        return f"{sum(numbers)}\n"
    if task == "reverse":
        return " ".join(str(x) for x in reversed(numbers)) + "\n"
    return f"{max(numbers)}\n"


@dataclass
class Program:
    job: dict
    task: str
    variant: str

    @property
    def expected_verdict(self) -> str:
        return EXPECTED_VERDICT[self.variant]


def programs(language: str, count: int, tests: int = 10, seed: int = 0) -> list[Program]:
    """``count`` programs with ``tests`` tests each; the variant mix is fixed by ``seed``."""
    rng = random.Random(f"{seed}-{language}")
    out = []
    for i in range(count):
        task = TASKS[i % len(TASKS)]
        roll = rng.random()
        variant = "wrong" if roll < WRONG_SHARE else "crash" if roll < WRONG_SHARE + CRASH_SHARE else "ok"
        cases = []
        for _ in range(tests):
            numbers = rng.sample(range(-1000, 1001), rng.randint(2, 20))  # distinct: "wrong" fails every test
            cases.append({"input": " ".join(map(str, numbers)) + "\n", "output": answer(task, numbers)})
        job = {"id": f"{language}-{i}", "language": language, "code": source(language, task, variant, i),
               "tests": cases}
        out.append(Program(job=job, task=task, variant=variant))
    return out


def tiny_lua_jobs(count: int):
    """Cheap one-test Lua jobs, lazily (the memory benchmark writes 100 000 of them)."""
    for i in range(count):
        yield {"id": f"m{i}", "language": "lua", "code": f"print({i} + tonumber(io.read('l')))",
               "tests": [{"input": "1\n", "output": f"{i + 1}\n"}]}
