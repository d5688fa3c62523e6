int adashta_placeholder_edge_src_static_files_cpp = 0;
