"""A faster forward and backward pass of the pixelrnn models on a CPU.

Keras runs an LSTM or GRU on a CPU as a loop whose every step multiplies the
step's input by the input kernel and lets autodiff record each operation for
the backward pass. Over 784 steps that costs more than the arithmetic does.
This module computes the same function from the same variables, faster:

- the input projection of every step is one large matrix product before the
  loop; for the first layer, whose input is a single pixel, the affine input
  map is folded into the recurrent layer's input kernel (exact: the
  composition of two affine maps is affine), so that product disappears;
- the loop does one matrix product per step, with the recurrent kernel;
- the backward pass is written by hand: one matrix product per step going
  back, and the recurrent kernel's gradient as one large product at the end.

The equations are Keras's own (gate orders i, f, c, o for the LSTM; z, r, h
for the GRU with `reset_after=True` and h = z * h_prev + (1 - z) * candidate),
with Keras's default activations. Dropout is applied to each recurrent
layer's outputs with the model's own `Dropout` layers' seed generators, so the
random state lives in the model's variables and resumes exactly.

Training uses it for GRU pixel models on a CPU (`device.use_fast_rnn`):
there it is about 1.2x faster than Keras's layers in the same step. For GRU
classifiers and for LSTMs it measured slower than Keras's own loop, and is
kept for comparison only (docs/performance.md). On a GPU none of this is
used: Keras's cuDNN kernels are faster there.
"""

from __future__ import annotations

import tensorflow as tf
from keras import layers, ops

from pixelrnn_cli.models import START_VALUE, recurrent_layers

# Keras's LSTM / GRU pick these activations by default; the hand-written
# backward pass relies on them.
EXPECTED_ACTIVATIONS = ("tanh", "sigmoid")


def supports(model) -> bool:
    """Whether the fast path reproduces `model` (default activations, no
    recurrent dropout, GRU with reset_after)."""
    for layer in recurrent_layers(model):
        cell = layer.cell
        names = (cell.activation.__name__, cell.recurrent_activation.__name__)
        if names != EXPECTED_ACTIVATIONS or cell.dropout or cell.recurrent_dropout:
            return False
        if not cell.use_bias or layer.go_backwards:
            return False
        if isinstance(layer, layers.GRU) and not cell.reset_after:
            return False
    return True


def forward(model, pixels, training: bool):
    """The model's output for `pixels` (batch, 784, 1), as `model(pixels)`."""
    task = "pixel" if "shift_right" in [layer.name for layer in model.layers] else ""
    x = tf.transpose(pixels, (1, 0, 2))  # (784, batch, 1), time first
    if task == "pixel":
        start = tf.fill(tf.shape(x[:1]), tf.constant(START_VALUE, x.dtype))
        x = tf.concat([start, x[:-1]], axis=0)
    input_map = model.get_layer("input_map")
    stack = recurrent_layers(model)
    for index, layer in enumerate(stack, start=1):
        if index == 1:
            projected = first_projection(x, input_map, layer)
        else:
            projected = projection(x, layer)
        x = sequence(layer, projected)  # (784, batch, units)
        if training:
            x = dropout(model, index, x)
    if task == "pixel":
        logit_layer = model.get_layer("pixel_logit")
        logits = ops.matmul(x, logit_layer.kernel) + logit_layer.bias  # (784, b, 1)
        return tf.transpose(logits[..., 0])  # (batch, 784)
    hidden = model.get_layer("hidden")(x[-1])
    return model.get_layer("class_probabilities")(
        model.get_layer("class_logits")(hidden)
    )


def dropout(model, index: int, x):
    names = [layer.name for layer in model.layers]
    name = f"dropout_{index}"
    if name not in names:
        return x
    layer = model.get_layer(name)
    from keras import random

    return random.dropout(x, layer.rate, seed=layer.seed_generator)


def input_bias(layer):
    """The part of the bias added to the input projection."""
    if isinstance(layer, layers.GRU):
        return layer.cell.bias[0]  # reset_after: (2, 3 units), input row first
    return layer.cell.bias


def first_projection(x, input_map, layer):
    """x (784, batch, 1) through the input map and the input kernel, folded."""
    kernel = ops.matmul(input_map.kernel, layer.cell.kernel)  # (1, gates)
    bias = ops.matmul(input_map.bias[None, :], layer.cell.kernel)[0]
    return x * kernel + (bias + input_bias(layer))  # (784, batch, gates)


def projection(x, layer):
    """x (784, batch, units_in) times the input kernel, as one product."""
    steps, batch = tf.shape(x)[0], tf.shape(x)[1]
    flat = tf.reshape(x, (steps * batch, x.shape[-1]))
    projected = ops.matmul(flat, layer.cell.kernel) + input_bias(layer)
    return tf.reshape(projected, (steps, batch, projected.shape[-1]))


def sequence(layer, projected):
    # Tensors, not variables, go in: the hand-written gradient covers its inputs.
    kernel = tf.convert_to_tensor(layer.cell.recurrent_kernel)
    if isinstance(layer, layers.GRU):
        return gru_sequence(projected, kernel, layer.cell.bias[1])
    return lstm_sequence(projected, kernel)


@tf.custom_gradient
def gru_sequence(projected, recurrent_kernel, recurrent_bias):
    """Run a GRU over input projections (T, batch, 3u) from a zero state.

    Returns the outputs (T, batch, u).
    """
    steps = tf.shape(projected)[0]
    units = recurrent_kernel.shape[0]
    h = tf.zeros((tf.shape(projected)[1], units), projected.dtype)
    saved = tf.TensorArray(projected.dtype, size=steps)  # z, r, candidate, gh
    outputs = tf.TensorArray(projected.dtype, size=steps)

    def step(t, h, saved, outputs):
        xz, xr, xh = tf.split(projected[t], 3, axis=-1)
        recurrent = tf.matmul(h, recurrent_kernel) + recurrent_bias  # (b, 3u)
        gz, gr, gh = tf.split(recurrent, 3, axis=-1)
        z = tf.sigmoid(xz + gz)
        r = tf.sigmoid(xr + gr)
        candidate = tf.tanh(xh + r * gh)
        h = z * h + (1.0 - z) * candidate
        saved = saved.write(t, tf.concat([z, r, candidate, gh], axis=-1))
        return t + 1, h, saved, outputs.write(t, h)

    _, _, saved, outputs = tf.while_loop(
        lambda t, *_: t < steps, step, (0, h, saved, outputs)
    )
    hidden = outputs.stack()  # (T, batch, u)
    gates = saved.stack()  # (T, batch, 4u)

    def backward(upstream):
        previous = tf.concat([tf.zeros_like(hidden[:1]), hidden[:-1]], axis=0)
        transposed = tf.transpose(recurrent_kernel)  # (3u, u)
        input_grads = tf.TensorArray(projected.dtype, size=steps)
        recurrent_grads = tf.TensorArray(projected.dtype, size=steps)

        def back_step(t, dh_next, input_grads, recurrent_grads):
            z, r, candidate, gh = tf.split(gates[t], 4, axis=-1)
            dh = upstream[t] + dh_next
            dz = dh * (previous[t] - candidate) * z * (1.0 - z)
            da = dh * (1.0 - z) * (1.0 - candidate * candidate)
            dr = da * gh * r * (1.0 - r)
            input_grads = input_grads.write(t, tf.concat([dz, dr, da], axis=-1))
            dg = tf.concat([dz, dr, da * r], axis=-1)  # (batch, 3u)
            recurrent_grads = recurrent_grads.write(t, dg)
            dh_previous = dh * z + tf.matmul(dg, transposed)
            return t - 1, dh_previous, input_grads, recurrent_grads

        _, _, input_grads, recurrent_grads = tf.while_loop(
            lambda t, *_: t >= 0,
            back_step,
            (steps - 1, tf.zeros_like(hidden[0]), input_grads, recurrent_grads),
        )
        d_recurrent = recurrent_grads.stack()  # (T, batch, 3u)
        flat_previous = tf.reshape(previous, (-1, units))
        flat_grads = tf.reshape(d_recurrent, (-1, 3 * units))
        d_kernel = tf.matmul(flat_previous, flat_grads, transpose_a=True)
        d_bias = tf.reduce_sum(flat_grads, axis=0)
        return input_grads.stack(), d_kernel, d_bias

    return hidden, backward


@tf.custom_gradient
def lstm_sequence(projected, recurrent_kernel):
    """Run an LSTM over input projections (T, batch, 4u), bias included, from
    zero states. Returns the outputs (T, batch, u)."""
    steps = tf.shape(projected)[0]
    units = recurrent_kernel.shape[0]
    zeros = tf.zeros((tf.shape(projected)[1], units), projected.dtype)
    saved = tf.TensorArray(projected.dtype, size=steps)  # i, f, candidate, o, c
    outputs = tf.TensorArray(projected.dtype, size=steps)

    def step(t, h, c, saved, outputs):
        gates = projected[t] + tf.matmul(h, recurrent_kernel)  # (batch, 4u)
        ai, af, ac, ao = tf.split(gates, 4, axis=-1)
        i, f, o = tf.sigmoid(ai), tf.sigmoid(af), tf.sigmoid(ao)
        candidate = tf.tanh(ac)
        c = f * c + i * candidate
        h = o * tf.tanh(c)
        saved = saved.write(t, tf.concat([i, f, candidate, o, c], axis=-1))
        return t + 1, h, c, saved, outputs.write(t, h)

    _, _, _, saved, outputs = tf.while_loop(
        lambda t, *_: t < steps, step, (0, zeros, zeros, saved, outputs)
    )
    hidden = outputs.stack()  # (T, batch, u)
    gates = saved.stack()  # (T, batch, 5u)

    def backward(upstream):
        previous = tf.concat([tf.zeros_like(hidden[:1]), hidden[:-1]], axis=0)
        transposed = tf.transpose(recurrent_kernel)  # (4u, u)
        gate_grads = tf.TensorArray(projected.dtype, size=steps)

        def back_step(t, dh_next, dc_next, gate_grads):
            i, f, candidate, o, c = tf.split(gates[t], 5, axis=-1)
            c_previous = tf.cond(
                t > 0, lambda: gates[t - 1][:, 4 * units :], lambda: tf.zeros_like(c)
            )
            dh = upstream[t] + dh_next
            squashed = tf.tanh(c)
            dc = dc_next + dh * o * (1.0 - squashed * squashed)
            dg = tf.concat(
                [
                    dc * candidate * i * (1.0 - i),
                    dc * c_previous * f * (1.0 - f),
                    dc * i * (1.0 - candidate * candidate),
                    dh * squashed * o * (1.0 - o),
                ],
                axis=-1,
            )  # (batch, 4u)
            gate_grads = gate_grads.write(t, dg)
            return t - 1, tf.matmul(dg, transposed), dc * f, gate_grads

        _, _, _, gate_grads = tf.while_loop(
            lambda t, *_: t >= 0,
            back_step,
            (steps - 1, tf.zeros_like(hidden[0]), tf.zeros_like(hidden[0]), gate_grads),
        )
        d_gates = gate_grads.stack()  # (T, batch, 4u)
        d_kernel = tf.matmul(
            tf.reshape(previous, (-1, units)),
            tf.reshape(d_gates, (-1, 4 * units)),
            transpose_a=True,
        )
        return d_gates, d_kernel

    return hidden, backward
