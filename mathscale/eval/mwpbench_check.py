"""The official MWPBench answer check, reproduced from its description (DESIGN.md, "MWPBench").

Kept byte-for-byte faithful to the described rules, quirks included, so that scores in
``mwpbench`` mode are comparable with published ones. Written from the description; no
code was copied. The steps:

1. lower-case completion and reference;
2. extract: last ``\\boxed{}``/``\\fbox{}``; else, when the normalised reference is a number,
   the last match of ``[-+]?\\d*[.,/]?\\d+``; else the text after the last "answer is" or
   "solution is" (cut at ".\\n", trailing dots removed); else the text after the last "is";
3. normalise both with :func:`strip_string` (MATH/HELM rules plus MWPBench's additions);
4. equal when both are numbers and exactly equal; or the reference is one ``$...$``
   expression whose content is inside the prediction; or, for a prediction of at least 3
   characters that is not a number, where neither starts with "-", one contains the other;
   or the strings are equal.

>>> official_check("The answer is 7 and 8", "8")
True
>>> official_check(r"so \\boxed{1+x^2}", "x^2+1")
False
"""

from __future__ import annotations

import re

from mathscale.eval.extract import last_boxed

_NUMBER = re.compile(r"[-+]?\d*[.,/]?\d+")
_INT = re.compile(r"^-?\d+$")


def _fix_fracs(text: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{2}`` -> ``\\frac{1}{2}``, ``\\frac{1}2`` -> ``\\frac{1}{2}``."""
    pieces = text.split("\\frac")
    out = pieces[0]
    for piece in pieces[1:]:
        out += "\\frac"
        if piece.startswith("{"):
            out += piece
            continue
        if len(piece) < 2:
            return text  # malformed: leave the whole string as it was
        a, b, rest = piece[0], piece[1], piece[2:]
        if b == "{":
            out += "{" + a + "}" + b + rest
        else:
            out += "{" + a + "}{" + b + "}" + rest
    return out


def _fix_slash(text: str) -> str:
    """``3/4`` (two integers, nothing else) -> ``\\frac{3}{4}``."""
    parts = text.split("/")
    if len(parts) == 2 and _INT.match(parts[0]) and _INT.match(parts[1]) and not parts[0].startswith("-"):
        return f"\\frac{{{int(parts[0])}}}{{{int(parts[1])}}}"
    return text


def _fix_sqrt(text: str) -> str:
    """``\\sqrt3`` -> ``\\sqrt{3}``: a one-character argument gets braces."""
    pieces = text.split("\\sqrt")
    out = pieces[0]
    for piece in pieces[1:]:
        if piece and piece[0] != "{":
            out += "\\sqrt{" + piece[0] + "}" + piece[1:]
        else:
            out += "\\sqrt" + piece
    return out


def _remove_right_units(text: str) -> str:
    if "\\text{ " in text:
        return text.split("\\text{ ")[0]
    return text


def strip_string(text: str) -> str:
    """MATH/HELM normalisation with MWPBench's additions (``((a)/(b))``, commas, ``\\quad``)."""
    text = re.sub(r"\(\(([^()]*)\)/\(([^()]*)\)\)", r"\\frac{\1}{\2}", text)
    text = text.replace(",", "").replace("\n", "").replace("\\!", "").replace("\\quad", "")
    text = text.replace("\\\\", "\\")
    text = text.replace("tfrac", "frac").replace("dfrac", "frac")
    text = text.replace("\\left", "").replace("\\right", "")
    text = text.replace("^{\\circ}", "").replace("^\\circ", "")
    text = text.replace("\\$", "")
    text = _remove_right_units(text)
    text = text.replace("\\%", "")
    text = text.replace(" .", " 0.").replace("{.", "{0.")
    if not text:
        return text
    if text[0] == ".":
        text = "0" + text
    sides = text.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        text = sides[1]
    text = _fix_sqrt(text)
    text = text.replace(" ", "")
    text = _fix_fracs(text)
    if text == "0.5":
        text = "\\frac{1}{2}"
    return _fix_slash(text)


def _as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def extract_official(completion: str, reference: str) -> str | None:
    """Step 2 on lower-cased text: the raw answer string, or None."""
    boxed = last_boxed(completion)
    if boxed is not None:
        return boxed
    if _as_number(strip_string(reference)) is not None:
        numbers = _NUMBER.findall(completion)
        return numbers[-1] if numbers else None
    cut = max(completion.rfind("answer is"), completion.rfind("solution is"))
    if cut >= 0:
        phrase = "answer is" if completion.rfind("answer is") == cut else "solution is"
        rest = completion[cut + len(phrase) :].split(".\n")[0]
        return rest.strip().rstrip(".").strip()
    cut = completion.rfind("is")
    if cut >= 0:
        return completion[cut + 2 :].strip()
    return None


def answers_match(prediction: str, reference: str) -> bool:
    """Step 4 on normalised strings."""
    pred_num, ref_num = _as_number(prediction.replace("$", "")), _as_number(reference.replace("$", ""))
    if pred_num is not None and ref_num is not None:
        return pred_num == ref_num
    if len(reference) > 1 and reference.startswith("$") and reference.endswith("$") and reference.count("$") == 2:
        if reference[1:-1] in prediction:
            return True
    if len(prediction) >= 3 and pred_num is None and not prediction.startswith("-") and not reference.startswith("-"):
        if prediction in reference or reference in prediction:
            return True
    return prediction == reference


def official_grade(completion: str, reference: str) -> tuple[str | None, bool]:
    """(extracted answer, verdict) exactly as the official MWPBench check decides."""
    completion, reference = completion.lower(), reference.lower()
    extracted = extract_official(completion, reference)
    if extracted is None:
        return None, False
    return extracted, answers_match(strip_string(extracted), strip_string(reference))


def official_check(completion: str, reference: str) -> bool:
    return official_grade(completion, reference)[1]
