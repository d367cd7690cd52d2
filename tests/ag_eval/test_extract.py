from ag_eval.extract import extract_code, find_code_blocks


def test_last_block_with_the_language_tag_wins():
    text = "Here:\n```python\nprint(1)\n```\nAnd in Lua:\n```lua\nprint(2)\n```\nAlso:\n```\nnotes\n```\n"
    assert extract_code(text, "lua") == "print(2)\n"


def test_last_block_of_any_tag_when_none_matches():
    text = "```python\nprint(1)\n```\n\n```python\nprint(3)\n```"
    assert extract_code(text, "lua") == "print(3)\n"


def test_no_fence_is_no_code():
    assert extract_code("I think the answer is print(1).", "python") is None
    assert extract_code("", "python") is None
    assert extract_code("```python\n\n```", "python") is None


def test_alias_tags_are_accepted():
    text = "```ml\nlet () = print_endline \"hi\"\n```"
    assert extract_code(text, "ocaml") == 'let () = print_endline "hi"\n'


def test_unclosed_final_fence_still_counts():
    text = "Sure.\n```python\nprint(1)\nprint(2)"
    assert extract_code(text, "python") == "print(1)\nprint(2)\n"


def test_reasoning_is_ignored():
    text = "<think>\n```python\nprint('draft')\n```\n</think>\nFinal:\n```python\nprint('final')\n```"
    assert extract_code(text, "python") == "print('final')\n"
    assert extract_code("<think>```python\nprint(1)\n```", "python") is None  # never finished thinking


def test_tilde_fences_and_longer_fences():
    blocks = find_code_blocks("~~~lua\nprint(1)\n~~~\n````python\n```\ninner\n```\n````\n")
    assert [b.tag for b in blocks] == ["lua", "python"]
    assert blocks[1].code == "```\ninner\n```\n"


def test_runner_object_is_accepted():
    from ag_eval.runners import get_runner

    assert extract_code("```R\ncat(1)\n```", get_runner("r")) == "cat(1)\n"
