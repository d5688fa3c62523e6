int adashta_placeholder_edge_src_sessions_cpp = 0;
