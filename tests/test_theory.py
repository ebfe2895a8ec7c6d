"""The claims of docs/theory.md, checked on Keras's own LSTM and GRU cells.

Each test builds a `keras.layers.LSTMCell` or `GRUCell`, sets its weights so
that some gates are pinned open or shut by biases of +/-30, runs it over a
few steps of random inputs from random initial states, and compares what it
stores with what the theory says, to within float32 rounding.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

UNITS, FEATURES, BATCH, STEPS = 3, 2, 5, 6
BIG = 30.0  # sigmoid(30) rounds to exactly 1 in float32
TOLERANCE = 1e-6
LSTM_GATES = ("i", "f", "c", "o")
GRU_GATES = ("z", "r", "h")


def columns(gates: tuple[str, ...], gate: str) -> slice:
    """The block of weight columns that belongs to `gate`."""
    start = gates.index(gate) * UNITS
    return slice(start, start + UNITS)


def sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def random_weights(rng: np.random.Generator, blocks: int, bias_shape: tuple):
    kernel = rng.normal(size=(FEATURES, blocks * UNITS))
    recurrent = rng.normal(size=(UNITS, blocks * UNITS))
    bias = rng.normal(size=bias_shape)
    return kernel, recurrent, bias


def make_lstm(kernel, recurrent, bias) -> keras.layers.LSTMCell:
    cell = keras.layers.LSTMCell(UNITS)
    cell.build((None, kernel.shape[0]))
    cell.set_weights([w.astype("float32") for w in (kernel, recurrent, bias)])
    return cell


def make_gru(kernel, recurrent, bias, reset_after: bool) -> keras.layers.GRUCell:
    cell = keras.layers.GRUCell(UNITS, reset_after=reset_after)
    cell.build((None, kernel.shape[0]))
    cell.set_weights([w.astype("float32") for w in (kernel, recurrent, bias)])
    return cell


def pin_lstm_gate(kernel, recurrent, bias, gate: str, value: float) -> None:
    """Make an LSTM gate ignore input and state: zero weights, bias `value`."""
    block = columns(LSTM_GATES, gate)
    kernel[:, block], recurrent[:, block], bias[block] = 0.0, 0.0, value


def pin_gru_gate(kernel, recurrent, bias, gate: str, value: float) -> None:
    """The same for a GRU; with two bias rows the input row carries `value`."""
    block = columns(GRU_GATES, gate)
    kernel[:, block], recurrent[:, block] = 0.0, 0.0
    if bias.ndim == 2:
        bias[0, block], bias[1, block] = value, 0.0
    else:
        bias[block] = value


def run_lstm(cell, inputs, h, c) -> tuple[np.ndarray, np.ndarray]:
    """Outputs and cell states per step: (steps, batch, units) each."""
    outputs, states = [], []
    for x in inputs:  # (batch, features)
        h, (_, c) = cell(x, [h, c])
        outputs.append(np.asarray(h))
        states.append(np.asarray(c))
    return np.stack(outputs), np.stack(states)


def run_gru(cell, inputs, h) -> np.ndarray:
    """States per step: (steps, batch, units)."""
    states = []
    for x in inputs:  # (batch, features)
        h, _ = cell(x, [h])
        states.append(np.asarray(h))
    return np.stack(states)


@pytest.fixture(autouse=True)
def full_float32_matmuls():
    """GPUs may multiply float32 in TF32, too coarse for a 1e-6 comparison."""
    import tensorflow as tf

    before = tf.config.experimental.tensor_float_32_execution_enabled()
    tf.config.experimental.enable_tensor_float_32_execution(False)
    yield
    tf.config.experimental.enable_tensor_float_32_execution(before)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture
def inputs(rng) -> np.ndarray:
    return rng.normal(size=(STEPS, BATCH, FEATURES)).astype("float32")


def initial_state(rng, scale: float = 1.0) -> np.ndarray:
    return (scale * rng.normal(size=(BATCH, UNITS))).astype("float32")


# The cells compute the equations written in docs/theory.md.


def test_lstm_step_follows_the_equations(rng, inputs):
    kernel, recurrent, bias = random_weights(rng, 4, (4 * UNITS,))
    cell = make_lstm(kernel, recurrent, bias)
    x, h, c = inputs[0], initial_state(rng), initial_state(rng)
    pre = x @ kernel + h @ recurrent + bias  # (batch, 4 units)
    i, f, candidate, o = (pre[:, columns(LSTM_GATES, g)] for g in LSTM_GATES)
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(candidate)
    h_new = sigmoid(o) * np.tanh(c_new)

    output, (h_state, c_state) = cell(x, [h, c])

    np.testing.assert_allclose(np.asarray(c_state), c_new, atol=1e-5)
    np.testing.assert_allclose(np.asarray(output), h_new, atol=1e-5)
    np.testing.assert_allclose(np.asarray(h_state), h_new, atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_step_follows_the_equations(rng, inputs, reset_after):
    bias_shape = (2, 3 * UNITS) if reset_after else (3 * UNITS,)
    kernel, recurrent, bias = random_weights(rng, 3, bias_shape)
    cell = make_gru(kernel, recurrent, bias, reset_after)
    x, h = inputs[0], initial_state(rng)
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, 0 * bias)
    from_input = x @ kernel + input_bias  # (batch, 3 units)
    from_state = h @ recurrent + recurrent_bias  # (batch, 3 units)
    z_block, r_block, h_block = (columns(GRU_GATES, g) for g in GRU_GATES)
    z = sigmoid(from_input[:, z_block] + from_state[:, z_block])
    r = sigmoid(from_input[:, r_block] + from_state[:, r_block])
    if reset_after:
        candidate = np.tanh(from_input[:, h_block] + r * from_state[:, h_block])
    else:
        candidate = np.tanh(from_input[:, h_block] + (r * h) @ recurrent[:, h_block])
    # Keras's update gate weighs the old state, the textbook's the candidate.
    expected = z * h + (1 - z) * candidate

    state, _ = cell(x, [h])

    np.testing.assert_allclose(np.asarray(state), expected, atol=1e-5)


# (a) Storing only the current input.


def test_lstm_with_forget_0_and_input_1_stores_only_its_input(rng, inputs):
    kernel, recurrent, bias = random_weights(rng, 4, (4 * UNITS,))
    pin_lstm_gate(kernel, recurrent, bias, "f", -BIG)
    pin_lstm_gate(kernel, recurrent, bias, "i", +BIG)
    recurrent[:, columns(LSTM_GATES, "c")] = 0.0  # the candidate ignores the state
    cell = make_lstm(kernel, recurrent, bias)
    block = columns(LSTM_GATES, "c")
    stored = np.tanh(inputs @ kernel[:, block] + bias[block])  # (steps, batch, units)

    _, states = run_lstm(cell, inputs, initial_state(rng), initial_state(rng, 5.0))
    _, states_again = run_lstm(cell, inputs, initial_state(rng), initial_state(rng))

    np.testing.assert_allclose(states, stored, atol=TOLERANCE)
    np.testing.assert_allclose(states_again, states, atol=TOLERANCE)


def test_lstm_stores_a_binary_pixel_exactly(rng):
    pixels = rng.integers(0, 2, size=(STEPS, BATCH, 1)).astype("float32")
    kernel, recurrent, bias = random_weights(rng, 4, (4 * UNITS,))
    kernel = kernel[:1]  # one input feature: the pixel
    pin_lstm_gate(kernel, recurrent, bias, "f", -BIG)
    pin_lstm_gate(kernel, recurrent, bias, "i", +BIG)
    block = columns(LSTM_GATES, "c")
    kernel[:, block], recurrent[:, block], bias[block] = BIG, 0.0, 0.0
    cell = make_lstm(kernel, recurrent, bias)

    _, states = run_lstm(cell, pixels, initial_state(rng), initial_state(rng, 5.0))

    np.testing.assert_allclose(states, np.repeat(pixels, UNITS, axis=2), atol=TOLERANCE)


def test_without_pinned_gates_the_lstm_state_remembers_the_past(rng, inputs):
    """The check above can fail: with f and i free the old state shows through."""
    kernel, recurrent, bias = random_weights(rng, 4, (4 * UNITS,))
    recurrent[:, columns(LSTM_GATES, "c")] = 0.0
    cell = make_lstm(kernel, recurrent, bias)
    block = columns(LSTM_GATES, "c")
    stored = np.tanh(inputs @ kernel[:, block] + bias[block])

    _, states = run_lstm(cell, inputs, initial_state(rng), initial_state(rng, 5.0))

    assert np.abs(states - stored).max() > 0.1


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_with_update_0_and_reset_0_stores_only_its_input(rng, inputs, reset_after):
    bias_shape = (2, 3 * UNITS) if reset_after else (3 * UNITS,)
    kernel, recurrent, bias = random_weights(rng, 3, bias_shape)
    pin_gru_gate(kernel, recurrent, bias, "z", -BIG)  # Keras: z = 0 takes the candidate
    pin_gru_gate(kernel, recurrent, bias, "r", -BIG)  # the candidate ignores the state
    cell = make_gru(kernel, recurrent, bias, reset_after)
    block = columns(GRU_GATES, "h")
    input_bias = bias[0, block] if reset_after else bias[block]
    stored = np.tanh(inputs @ kernel[:, block] + input_bias)  # (steps, batch, units)

    states = run_gru(cell, inputs, initial_state(rng))
    states_again = run_gru(cell, inputs, initial_state(rng))

    np.testing.assert_allclose(states, stored, atol=TOLERANCE)
    np.testing.assert_allclose(states_again, states, atol=TOLERANCE)


def test_gru_stores_its_input_with_a_blind_candidate_instead_of_a_reset(rng, inputs):
    kernel, recurrent, bias = random_weights(rng, 3, (2, 3 * UNITS))
    pin_gru_gate(kernel, recurrent, bias, "z", -BIG)
    block = columns(GRU_GATES, "h")
    recurrent[:, block], bias[1, block] = 0.0, 0.0  # r is free but multiplies 0
    cell = make_gru(kernel, recurrent, bias, reset_after=True)
    stored = np.tanh(inputs @ kernel[:, block] + bias[0, block])

    states = run_gru(cell, inputs, initial_state(rng))

    np.testing.assert_allclose(states, stored, atol=TOLERANCE)


# (b) Keeping the state and ignoring the input.


def test_lstm_with_forget_1_and_input_0_keeps_its_cell_state(rng, inputs):
    kernel, recurrent, bias = random_weights(rng, 4, (4 * UNITS,))
    pin_lstm_gate(kernel, recurrent, bias, "f", +BIG)
    pin_lstm_gate(kernel, recurrent, bias, "i", -BIG)
    cell = make_lstm(kernel, recurrent, bias)
    h, c = initial_state(rng), initial_state(rng, 5.0)

    outputs, states = run_lstm(cell, inputs, h, c)

    np.testing.assert_allclose(states, np.broadcast_to(c, states.shape), atol=1e-5)
    # The memory stands still, but the output gate still reads the input.
    previous = np.concatenate([h[None], outputs[:-1]])  # (steps, batch, units)
    block = columns(LSTM_GATES, "o")
    gate = sigmoid(
        inputs @ kernel[:, block] + previous @ recurrent[:, block] + bias[block]
    )
    np.testing.assert_allclose(outputs, gate * np.tanh(c), atol=1e-5)
    assert np.abs(np.diff(outputs, axis=0)).max() > 0.01


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_with_update_1_keeps_its_state(rng, inputs, reset_after):
    bias_shape = (2, 3 * UNITS) if reset_after else (3 * UNITS,)
    kernel, recurrent, bias = random_weights(rng, 3, bias_shape)
    pin_gru_gate(kernel, recurrent, bias, "z", +BIG)  # Keras: z = 1 keeps the state
    cell = make_gru(kernel, recurrent, bias, reset_after)
    h = initial_state(rng)

    states = run_gru(cell, inputs, h)

    np.testing.assert_allclose(states, np.broadcast_to(h, states.shape), atol=TOLERANCE)


# (c) What one cell can do and the other cannot.


def test_lstm_counts_past_one_while_a_gru_state_stays_within_one(rng):
    pixels = rng.integers(0, 2, size=(20, BATCH, 1)).astype("float32")
    kernel, recurrent, bias = random_weights(rng, 4, (4 * UNITS,))
    kernel = kernel[:1]
    pin_lstm_gate(kernel, recurrent, bias, "f", +BIG)
    pin_lstm_gate(kernel, recurrent, bias, "i", +BIG)
    block = columns(LSTM_GATES, "c")
    kernel[:, block], recurrent[:, block], bias[block] = BIG, 0.0, 0.0
    lstm = make_lstm(kernel, recurrent, bias)
    zeros = np.zeros((BATCH, UNITS), "float32")

    _, states = run_lstm(lstm, pixels, zeros, zeros)

    counts = np.cumsum(pixels, axis=0)  # (steps, batch, 1)
    np.testing.assert_allclose(states, np.repeat(counts, UNITS, axis=2), atol=1e-4)
    assert states.max() > 5

    kernel, recurrent, bias = random_weights(rng, 3, (2, 3 * UNITS))
    gru = make_gru(10 * kernel[:1], 10 * recurrent, 10 * bias, reset_after=True)
    gru_states = run_gru(gru, pixels, zeros)
    assert np.abs(gru_states).max() <= 1.0
