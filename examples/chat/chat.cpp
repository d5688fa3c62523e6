int adashta_placeholder_examples_chat_chat_cpp = 0;
