"""BVH motion capture -> the 22 SMPL joints of the HumanML3D skeleton.

The flow, one module per step:

    parser      text -> Bvh (hierarchy: names, parents, offsets, channels, end sites; motion)
    kinematics  Euler channels -> local quaternions; resampling (slerp) to 20 fps; forward
                kinematics -> global joint positions and rotations
    rigs        joint-name maps of known rigs (CMU cgspeed, Bandai-Namco, Mixamo) to SMPL joints
    rest        SMPL-like rest geometry: units, up axis, handedness, torso joints placed on a
                fitted SMPL-like template and carried by the rig's body segments
    convert     one file -> (T, 22, 3) joints in metres at 20 fps, ready for
                ``esd.motion.features.joints_to_features`` (which retargets to the HumanML3D
                bone lengths, floors at y = 0 and turns frame 0 to face +Z, left at +X)
    labels      captions and concepts of imported clips (a labels CSV or caption .txt files)
    folder      writing a HumanML3D-layout folder
"""
