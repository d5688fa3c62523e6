int adashta_placeholder_sdk_cpp_src_node_cpp = 0;
