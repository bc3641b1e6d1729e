print("arf")
