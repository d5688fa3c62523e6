int adashta_placeholder_mesh_src_ring_cpp = 0;
