import string

from hypothesis import given, settings
from hypothesis import strategies as st

from viarl.data.options import split_options_block, split_paren_options, strip_letters
from viarl.data.sample import LETTERS

# Option texts: one line, no parentheses (an option reading "(B)" is not representable).
ALPHABET = string.ascii_letters + string.digits + " .,:;'-?!/%&é中"
TEXT = st.text(alphabet=ALPHABET, min_size=1, max_size=30)
OPTION = TEXT.map(str.strip).filter(bool)
OPTIONS = st.lists(OPTION, min_size=2, max_size=8)
STEM_PIECE = st.one_of(OPTION, st.sampled_from(["f(A)", "(x)", "A.", "Options", "1. 2."]))
STEM = st.lists(STEM_PIECE, min_size=1, max_size=4).map(" ".join).map(str.strip).filter(bool)


@settings(max_examples=150, deadline=None)
@given(options=OPTIONS)
def test_videomme_letters_round_trip(options):
    lettered = [f"{LETTERS[i]}. {o}" for i, o in enumerate(options)]
    assert strip_letters(lettered) == options


@settings(max_examples=100, deadline=None)
@given(options=OPTIONS, swap=st.integers(0, 6))
def test_videomme_letters_out_of_order_rejected(options, swap):
    swap = swap % (len(options) - 1)
    letters = list(LETTERS[: len(options)])
    letters[swap], letters[swap + 1] = letters[swap + 1], letters[swap]
    assert strip_letters([f"{l}. {o}" for l, o in zip(letters, options)]) is None


def test_videomme_examples():
    assert strip_letters(["A. 3.", "B. 5."]) == ["3.", "5."]
    assert strip_letters(["A.yes", "B) no"]) == ["yes", "no"]
    assert strip_letters(["yes", "no"]) is None
    assert strip_letters(["A. only"]) is None
    assert strip_letters(["A. x", "B. "]) is None


@settings(max_examples=200, deadline=None)
@given(stem=STEM, options=OPTIONS, sep=st.sampled_from(["\n", " ", "\n\n"]))
def test_lvbench_round_trip(stem, options, sep):
    text = stem + sep + sep.join(f"({LETTERS[i]}) {o}" for i, o in enumerate(options))
    assert split_paren_options(text) == (stem, options)


def test_lvbench_examples():
    assert split_paren_options("Q?\n(A) x\n(B) y") == ("Q?", ["x", "y"])
    assert split_paren_options("Q? (A) x") is None  # a single option is no choice
    assert split_paren_options("(A) x\n(B) y") is None  # no stem
    assert split_paren_options("Q?\n(A) x\n(B)") is None  # empty option
    assert split_paren_options("Q?\n(B) x\n(A) y") is None


@settings(max_examples=200, deadline=None)
@given(
    stem=STEM,
    options=OPTIONS,
    prefix=st.sampled_from(["<video>\n", "<video>", "<video>\nQuestion: ", ""]),
    suffix=st.sampled_from(["", "\nAnswer with the option's letter from the given choices."]),
)
def test_paper_block_round_trip(stem, options, prefix, suffix):
    block = "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
    text = f"{prefix}{stem}\nOptions:\n{block}{suffix}"
    assert split_options_block(text) == (stem, options)


def test_paper_block_examples():
    assert split_options_block("<video>Q?\nOptions:\nA. x\nB. y") == ("Q?", ["x", "y"])
    assert split_options_block("<video>Q? A. x B. y") is None  # no block
    assert split_options_block("<video>\nOptions:\nA. x\nB. y") is None  # no stem
    assert split_options_block("<video>Q?\nOptions:\nA. x\nC. y") is None  # letters skip
    assert split_options_block("Q?\noptions:\nA. x\nB. y\nplease answer") == ("Q?", ["x", "y"])
