int adashta_placeholder_mesh_src_membership_cpp = 0;
