int adashta_placeholder_edge_src_edge_cpp = 0;
