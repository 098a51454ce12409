"""Run by tests/test_gpu_order.py under a plugin that fakes one GPU and logs the order of GPU
set-up calls and TensorFlow's device initialisation. Not collected by a plain `pytest`."""


def test_first_op_after_the_gpu_set_up(settings):
    from homework.compat import tf

    assert float(tf.reduce_sum(tf.constant([1.0, 2.0]))) == 3.0
