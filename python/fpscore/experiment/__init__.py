"""fpscore experiment: does score embedding make training faster?"""
