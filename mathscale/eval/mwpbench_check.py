"""The official MWPBench answer check (``eval_vllm/util.py`` of microsoft/unilm), verdict for verdict.

Written from what the official code does (read, not copied), quirks included, so that scores
in ``mwpbench`` mode are the ones the official driver prints. The steps:

1. lower-case completion and reference;
2. extract: the content of the last balanced ``\\boxed{...}`` (only ``\\boxed{`` — ``\\fbox``
   and ``\\boxed {`` are not looked at); else, when the normalised reference is a number
   (``int``/``float`` parse after stripping ``$``), the last match of ``[-+]?\\d*[.,/]?\\d+`` (none:
   wrong); else the text after the last "answer is" (or, only when "answer is" does not occur,
   "solution is"); else the text after the last "is" anywhere (also inside "this"); those two
   are trimmed (whitespace, a leading ":", cut at ".\\n", dots stripped at both ends);
   else wrong;
3. normalise both with :func:`strip_string` (MATH/HELM ``strip_string`` plus MWPBench's
   ``((a)/(b))`` rule; ``\\quad`` becomes a space, then spaces go);
4. compare, first rule that applies decides: both numbers -> equal as floats; the reference
   is one ``$...$`` -> its content is inside the prediction; prediction of >= 3 characters,
   not a number, neither starting with "-", inside the reference -> right; the same with
   the roles swapped -> right; else string equality. When normalising the *prediction*
   fails (a string the official code crashes on, e.g. ending in ``\\frac``), the raw
   lower-cased strings are compared instead, as the official ``try``/``except`` does.

A reference the official code cannot normalise (``\\text{ `` twice, a trailing ``\\sqrt`` or
``\\frac``) makes the official driver drop the whole task; :func:`reference_crashes` tells
which, and :func:`official_grade` counts such an item wrong. No real MWPBench answer does.

>>> official_check("The answer is 7 and 8", "8")
True
>>> official_check(r"so \\boxed{1+x^2}", "x^2+1")
False
>>> official_check("the answer is (c).", "C")   # (c) is not c: too short for the substring rule
False
"""

from __future__ import annotations

import re

_BOX_OPEN = re.compile(r"\\boxed\{")
_NUMBER = re.compile(r"[\-+]?\d*[\.,/]?\d+")
_DOUBLED_FRACTION = re.compile(r"\(\((\d+)\)/\((\d+)\)\)")
_ONE_INLINE_MATH = re.compile(r"^\$[^$]+\$$")


class _Unnormalisable(Exception):
    """The official normalisation raises on this string."""


def _boxed_contents(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}`` whose braces close, in order of their start."""
    found = []
    for match in _BOX_OPEN.finditer(text):
        depth = 0
        for pos in range(match.end() - 1, len(text)):
            if text[pos] == "{":
                depth += 1
            elif text[pos] == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[match.end() : pos])
                    break
    return found


def _doubled_fractions_to_latex(text: str) -> str:
    # The official replacement writes two backslashes; the ``\\\\`` -> ``\\`` step later
    # makes them one. Done the same way so that both steps interact as they do there.
    for num, den in _DOUBLED_FRACTION.findall(text):
        text = text.replace(f"(({num})/({den}))", "\\\\frac{" + num + "}{" + den + "}")
    return text


def _cut_units(text: str) -> str:
    if "\\text{ " not in text:
        return text
    pieces = text.split("\\text{ ")
    if len(pieces) != 2:
        raise _Unnormalisable(text)
    return pieces[0]


def _brace_sqrt(text: str) -> str:
    if "\\sqrt" not in text:
        return text
    first, *rest = text.split("\\sqrt")
    out = [first]
    for piece in rest:
        if not piece:
            raise _Unnormalisable(text)
        out.append("\\sqrt" + piece if piece[0] == "{" else "\\sqrt{" + piece[0] + "}" + piece[1:])
    return "".join(out)


def _brace_fracs(text: str) -> str:
    first, *rest = text.split("\\frac")
    out = [first]
    for piece in rest:
        out.append("\\frac")
        if not piece:
            raise _Unnormalisable(text)
        if piece[0] == "{":
            out.append(piece)
        elif len(piece) < 2:
            return text
        elif piece[1] == "{":
            out.append("{" + piece[0] + "}" + piece[1:])
        else:
            out.append("{" + piece[0] + "}{" + piece[1] + "}" + piece[2:])
    return "".join(out)


def _slash_to_frac(text: str) -> str:
    parts = text.split("/")
    if len(parts) != 2:
        return text
    try:
        num, den = int(parts[0]), int(parts[1])
    except ValueError:
        return text
    if f"{num}/{den}" != text:
        return text
    return "\\frac{" + str(num) + "}{" + str(den) + "}"


def strip_string(text: str) -> str:
    """The official normalisation; raises ``_Unnormalisable`` where the official one raises."""
    text = _doubled_fractions_to_latex(text)
    for old, new in ((",", ""), ("\n", ""), ("\\!", ""), ("\\\\", "\\"), ("tfrac", "frac"), ("dfrac", "frac"),
                     ("\\left", ""), ("\\right", ""), ("^{\\circ}", ""), ("^\\circ", ""), ("\\$", "")):  # fmt: skip
        text = text.replace(old, new)
    text = _cut_units(text)
    # The official code removes ``\\%`` twice in a row (once per spelling of the same
    # string), which matters for ``\\\\%%``.
    text = text.replace("\\%", "").replace("\\%", "")
    text = text.replace(" .", " 0.").replace("{.", "{0.")
    if not text:
        return text
    if text[0] == ".":
        text = "0" + text
    sides = text.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        text = sides[1]
    text = _brace_sqrt(text)
    text = text.replace("\\quad", " ").replace(" ", "")
    text = _brace_fracs(text)
    if text == "0.5":
        text = "\\frac{1}{2}"
    return _slash_to_frac(text)


def _is_number(text: str) -> bool:
    text = text.strip("$")
    try:
        int(text)
        return True
    except ValueError:
        try:
            float(text)
            return True
        except ValueError:
            return False


def _after_phrase(text: str, phrase: str, last: int) -> str:
    rest = text[last + len(phrase) :].strip().lstrip(":").strip()
    return rest.split(".\n")[0].strip().strip(".").strip()


def extract_official(completion: str, reference: str) -> str | None:
    """Step 2 on lower-cased text: the raw answer string, or None (counted wrong)."""
    boxed = _boxed_contents(completion)
    if boxed:
        return boxed[-1].strip()
    if _is_number(strip_string(reference)):
        numbers = _NUMBER.findall(completion)
        return numbers[-1] if numbers else None
    for phrase in ("answer is", "solution is"):
        if phrase in completion:
            return _after_phrase(completion, phrase, completion.rfind(phrase))
    if "is" in completion:
        return _after_phrase(completion, "is", completion.rfind("is"))
    return None


def answers_match(prediction: str, reference: str) -> bool:
    """Step 4 on normalised strings (first rule that applies decides)."""
    pred_is_num, ref_is_num = _is_number(prediction), _is_number(reference)
    if pred_is_num and ref_is_num:
        return float(prediction.strip("$")) == float(reference.strip("$"))
    if _ONE_INLINE_MATH.match(reference):
        return reference.strip("$") in prediction.strip("$")
    signed = prediction.startswith("-") or reference.startswith("-")
    if len(prediction) >= 3 and not pred_is_num and not signed and prediction in reference:
        return True
    if len(reference) >= 3 and not ref_is_num and not signed and reference in prediction:
        return True
    return prediction == reference


def reference_crashes(reference: str) -> bool:
    """True when the official check raises on this reference (the official driver then drops the task)."""
    try:
        strip_string(reference.lower())
    except _Unnormalisable:
        return True
    return False


def official_grade(completion: str, reference: str) -> tuple[str | None, bool]:
    """(normalised extracted answer, verdict) as the official MWPBench check decides.

    The extracted answer is what the official driver stores as ``clean_prediction_ans``
    (None when nothing was extracted).
    """
    completion, reference = completion.lower(), reference.lower()
    if reference_crashes(reference):
        return None, False
    extracted = extract_official(completion, reference)
    if extracted is None:
        return None, False
    try:
        prediction, clean_reference = strip_string(extracted), strip_string(reference)
    except _Unnormalisable:
        return extracted, extracted == reference
    return prediction, answers_match(prediction, clean_reference)


def official_check(completion: str, reference: str) -> bool:
    return official_grade(completion, reference)[1]
