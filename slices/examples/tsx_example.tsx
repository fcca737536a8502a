// A worked example for TSX (see tsx_example.json for its slices).
import React, { useState } from "react";

type Props = { title: string; onSave: (value: string) => void };

export function Editor({ title, onSave }: Props) {
  const [value, setValue] = useState("");
  const handleChange = (e: React.ChangeEvent<HTMLInputElement>) => setValue(e.target.value);
  return (
    <form onSubmit={() => onSave(value)}>
      <h1>{title}</h1>
      <input value={value} onChange={handleChange} />
    </form>
  );
}
