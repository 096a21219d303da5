print("skep")
