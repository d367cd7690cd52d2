"""MultiPL-E programs: a completion cut at its stop tokens (or the function a chat model
wrote), between the prompt it continues and the tests that exit non-zero on a failure.

``task`` is an :class:`ag_harness.tasks.Task` of kind ``multiple`` (``language``, ``text``,
``stop``, ``prefix``, ``suffix``).
"""

from __future__ import annotations

from ag_eval.extract import extract_code

# luaunit is not packaged for Debian: when the real module is absent, MultiPL-E's Lua tests
# get this stand-in (deep equality as luaunit's assertEquals; run() returns the failure count).
LUAUNIT_FALLBACK = r"""if not pcall(require, "luaunit") then package.preload["luaunit"] = function()
  local M = { LuaUnit = {} }
  local function same(a, b, seen)
    if type(a) ~= type(b) then return false end
    if type(a) ~= "table" then return a == b end
    if a == b then return true end
    seen = seen or {}
    if seen[a] == b then return true end
    seen[a] = b
    for k, v in pairs(a) do if not same(v, b[k], seen) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  local function fail(msg, level) error(msg, (level or 1) + 2) end
  function M.assertEquals(actual, expected) if not same(actual, expected) then fail("assertEquals failed: expected " .. tostring(expected) .. ", got " .. tostring(actual)) end end
  function M.assertNotEquals(actual, expected) if same(actual, expected) then fail("assertNotEquals failed") end end
  function M.assertTrue(v) if v ~= true then fail("assertTrue failed") end end
  function M.assertFalse(v) if v ~= false then fail("assertFalse failed") end end
  function M.assertNil(v) if v ~= nil then fail("assertNil failed") end end
  function M.assertAlmostEquals(a, b, margin) if math.abs(a - b) > (margin or 1e-11) then fail("assertAlmostEquals failed") end end
  M.assert_equals = M.assertEquals
  function M.LuaUnit.run()
    local names = {}
    for k, v in pairs(_G) do
      if type(k) == "string" and k:sub(1, 4):lower() == "test" and (type(v) == "function" or type(v) == "table") then names[#names + 1] = k end
    end
    table.sort(names)
    local failures = 0
    local function call(f, label)
      local ok, err = pcall(f)
      if not ok then failures = failures + 1; io.stderr:write(label .. ": " .. tostring(err) .. "\n") end
    end
    for _, name in ipairs(names) do
      local v = _G[name]
      if type(v) == "function" then call(v, name)
      else
        local methods = {}
        for m, f in pairs(v) do if type(m) == "string" and m:sub(1, 4):lower() == "test" and type(f) == "function" then methods[#methods + 1] = m end end
        table.sort(methods)
        for _, m in ipairs(methods) do call(function() v[m](v) end, name .. "." .. m) end
      end
    end
    io.write(failures == 0 and "OK\n" or ("FAILED (" .. failures .. ")\n"))
    return failures
  end
  M.run = M.LuaUnit.run
  return M
end end
"""


def cut_at_stop(completion: str, stop_tokens: list[str]) -> str:
    """The completion up to its first stop token (MultiPL-E's post-processing)."""
    end = len(completion)
    for token in stop_tokens:
        if token:
            at = completion.find(token)
            if at != -1:
                end = min(end, at)
    return completion[:end]


def _prelude(task, program: str) -> str:
    if task.language == "lua" and "luaunit" in task.suffix:
        return LUAUNIT_FALLBACK + program
    return program


def assemble_program(task, completion: str) -> str | None:
    """The whole program for one completion, or None when a chat reply holds no code."""
    if task.stop or task.text is not None:
        return _prelude(task, task.prefix + cut_at_stop(completion, task.stop) + "\n" + task.suffix)
    code = extract_code(completion, task.language)
    if code is None:
        return None
    header = next((line.strip() for line in reversed(task.prefix.splitlines()) if line.strip()), "")
    body = code if header and header in code else task.prefix + code
    return _prelude(task, body + "\n" + task.suffix)
