int adashta_placeholder_examples_echo_echo_cpp = 0;
