int adashta_placeholder_mesh_src_mesh_cpp = 0;
